using System.Text.Json.Nodes;
using DePin.LocalKube.Http;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Tests;

public sealed class PatchesTests
{
    [Theory]
    [InlineData("""{"a":1,"b":{"c":2}}""", """{"b":{"c":null,"d":3},"e":[1]}""", """{"a":1,"b":{"d":3},"e":[1]}""")]
    [InlineData("""{"list":[1,2,3]}""", """{"list":[4]}""", """{"list":[4]}""")]
    [InlineData("""{"a":1}""", """{"a":null}""", """{}""")]
    public void MergePatch_FollowsRfc7386(string target, string patch, string expected)
    {
        var result = Patches.MergePatch(JsonNode.Parse(target), JsonNode.Parse(patch));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), result), result?.ToJsonString());
    }

    [Theory]
    [InlineData("""{"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]}}""", """{"spec":{"containers":[{"name":"b","image":"y:2"}]}}""", """{"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:2"}]}}""")]
    [InlineData("""{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}""", """{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}""", """{"spec":{"containers":[{"name":"b"}]}}""")]
    [InlineData("""{"spec":{"args":["x","y"]}}""", """{"spec":{"args":["z"]}}""", """{"spec":{"args":["z"]}}""")]
    [InlineData("""{"metadata":{"finalizers":["a"]}}""", """{"metadata":{"finalizers":["b"]}}""", """{"metadata":{"finalizers":["a","b"]}}""")]
    [InlineData("""{"metadata":{"finalizers":["a","b"]}}""", """{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}""", """{"metadata":{"finalizers":["b"]}}""")]
    [InlineData("""{"spec":{"x":1}}""", """{"$setElementOrder/containers":[{"name":"a"}],"spec":{"x":2}}""", """{"spec":{"x":2}}""")]
    [InlineData("""{"status":{"conditions":[{"type":"Ready","status":"False"}]}}""", """{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Scheduled","status":"True"}]}}""", """{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Scheduled","status":"True"}]}}""")]
    public void StrategicMergePatch_MergesKeyedListsAndHonoursDirectives(string target, string patch, string expected)
    {
        var result = Patches.StrategicMergePatch(JsonNode.Parse(target), JsonNode.Parse(patch));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), result), result?.ToJsonString());
    }

    [Fact]
    public void JsonPatch_AddRemoveMoveCopy_Apply()
    {
        var result = Patches.JsonPatch(JsonNode.Parse("""{"a":[1,2],"b":{"c":1}}""")!, JsonNode.Parse("""
            [{"op":"add","path":"/a/-","value":3},{"op":"remove","path":"/a/0"},{"op":"move","from":"/b/c","path":"/d"},
             {"op":"copy","from":"/d","path":"/e"},{"op":"add","path":"/k~1v","value":true}]
            """)!.AsArray());

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"a":[2,3],"b":{},"d":1,"e":1,"k/v":true}"""), result), result.ToJsonString());
    }

    [Fact]
    public void JsonPatch_RemoveMissingPath_Is422()
    {
        var error = Assert.Throws<ApiException>(() => Patches.JsonPatch(JsonNode.Parse("{}")!, JsonNode.Parse("""[{"op":"remove","path":"/nope"}]""")!.AsArray()));

        Assert.Equal(422, error.Code);
    }
}
