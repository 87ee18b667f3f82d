using DePin.Api;
using DePin.CrdGen;

// Writes the CustomResourceDefinitions of operator/DePin.Api as YAML.
// Usage: CrdGen --output DIR
var output = ParseOutput(args);
if (output is null)
{
    await Console.Error.WriteLineAsync("usage: CrdGen --output DIR   (writes one <group>_<plural>.yaml per custom resource)");
    return 2;
}

Directory.CreateDirectory(output);
foreach (var crd in CrdGenerator.Generate(typeof(DePinApi).Assembly))
{
    var path = Path.Combine(output, crd.FileName);
    await File.WriteAllTextAsync(path, crd.ToYaml());
    Console.WriteLine($"wrote {path}");
}

return 0;

static string? ParseOutput(string[] args)
{
    for (var i = 0; i < args.Length - 1; i++)
    {
        if (args[i] is "--output" or "-o")
        {
            return args[i + 1];
        }
    }

    return null;
}
