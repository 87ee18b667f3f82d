namespace DePin.Operator;

internal static class OperatorArgs
{
    /// <summary>The value after a flag, as <c>--flag VALUE</c> or <c>--flag=VALUE</c>.</summary>
    public static string? Value(IReadOnlyList<string> args, string flag)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == flag && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(flag + "=", StringComparison.Ordinal))
            {
                return args[i][(flag.Length + 1)..];
            }
        }

        return null;
    }
}
