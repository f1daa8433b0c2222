using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>Log messages of <see cref="CaBootstrap"/> (event ids 1-99, as when the bootstrap was the CA library's).</summary>
internal static partial class CaBootstrapLog
{
    [LoggerMessage(1, LogLevel.Information, "Created {What} at {Path}")]
    public static partial void Created(ILogger logger, string what, string path);

    [LoggerMessage(2, LogLevel.Information, "Re-issuing {Path}: it expires soon, no longer chains to the issuing CA or lacks an extended key usage this version needs")]
    public static partial void Renewing(ILogger logger, string path);

    [LoggerMessage(3, LogLevel.Information, "Issuing CA {Subject} ({Thumbprint}) under {Anchor}; {ManufacturerCount} trusted manufacturer CA(s)")]
    public static partial void HierarchyLoaded(ILogger logger, string subject, string thumbprint, string anchor, int manufacturerCount);

    [LoggerMessage(4, LogLevel.Information, "Root CA key update pending: new root {Subject} ({Thumbprint}), link certificates in {Directory}; the old root stays a trust anchor until {OldNotAfter:u}")]
    public static partial void RootCaKeyUpdateLoaded(ILogger logger, string subject, string thumbprint, string directory, DateTime oldNotAfter);
}
