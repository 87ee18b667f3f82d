using DePin.Api;
using DePin.CrdGen;

// Writes the CustomResourceDefinitions of operator/DePin.Api as YAML, and optionally their Markdown reference.
// Usage: CrdGen --output DIR [--reference FILE]
var output = Option(args, "--output") ?? Option(args, "-o");
if (output is null)
{
    await Console.Error.WriteLineAsync("usage: CrdGen --output DIR [--reference FILE]   (writes one <group>_<plural>.yaml per custom resource, and the reference)");
    return 2;
}

Directory.CreateDirectory(output);
var crds = CrdGenerator.Generate(typeof(DePinApi).Assembly);
foreach (var crd in crds)
{
    var path = Path.Combine(output, crd.FileName);
    await File.WriteAllTextAsync(path, crd.ToYaml());
    Console.WriteLine($"wrote {path}");
}

if (Option(args, "--reference") is { } reference)
{
    await File.WriteAllTextAsync(reference, ReferenceWriter.Write(crds));
    Console.WriteLine($"wrote {reference}");
}

return 0;

static string? Option(string[] args, string name)
{
    for (var i = 0; i < args.Length - 1; i++)
    {
        if (args[i] == name)
        {
            return args[i + 1];
        }
    }

    return null;
}
