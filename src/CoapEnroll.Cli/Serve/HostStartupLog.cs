using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Whether serve is still starting. Until it has started, the host's own "Hosting failed to start" error (logged with the whole
/// stack trace, category <see cref="HostCategory"/>) is not logged: serve reports why it cannot start itself, as one line on
/// stderr with its exit code. A BackgroundService that fails later is logged by the same category at Critical, which stays.
/// </summary>
internal sealed class HostStartupLog
{
    /// <summary>The category of the generic host's own log lines.</summary>
    public const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private volatile bool _started;

    /// <summary>Called once the host has started.</summary>
    public void Started() => _started = true;

    /// <summary>The filter of <see cref="HostCategory"/>: what the configuration would let through, less errors while starting.</summary>
    public bool Allows(LogLevel level) => level >= LogLevel.Information && (_started || level != LogLevel.Error);
}
