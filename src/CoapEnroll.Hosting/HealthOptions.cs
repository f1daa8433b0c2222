namespace CoapEnroll.Hosting;

/// <summary>The <c>Health</c> configuration section: the readiness check behind <c>/readyz</c> (<see cref="StoreReadiness"/>).</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>How long the store may take to answer the readiness query, in seconds, before <c>/readyz</c> answers 503; 2 by default.</summary>
    public double StoreTimeoutSeconds { get; set; } = 2;

    /// <summary>The problem with the settings, naming the key, or null when they are usable.</summary>
    public string? Validate() => StoreTimeoutSeconds is > 0 and <= 60
        ? null
        : $"Health:StoreTimeoutSeconds {StoreTimeoutSeconds} must be more than 0 and at most 60.";
}
