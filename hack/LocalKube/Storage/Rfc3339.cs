using System.Globalization;

namespace DePin.LocalKube.Storage;

/// <summary>Timestamps as the Kubernetes API writes them.</summary>
public static class Rfc3339
{
    /// <summary>Seconds precision, for metav1.Time fields such as creationTimestamp.</summary>
    /// <param name="time">The time.</param>
    /// <returns>For example <c>2026-01-01T00:00:00Z</c>.</returns>
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Microsecond precision, for metav1.MicroTime fields such as a Lease's renewTime.</summary>
    /// <param name="time">The time.</param>
    /// <returns>For example <c>2026-01-01T00:00:00.000000Z</c>.</returns>
    public static string FormatMicro(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
