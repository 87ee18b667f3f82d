using Xunit;

namespace DePin.Testing;

/// <summary>A test that needs anvil; it is skipped, saying why, when anvil is not installed.</summary>
public sealed class AnvilFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public AnvilFactAttribute()
    {
        if (AnvilNode.MissingReason is { } reason)
        {
            Skip = reason;
        }
    }
}
