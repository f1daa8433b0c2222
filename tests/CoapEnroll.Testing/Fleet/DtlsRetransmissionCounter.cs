using Microsoft.Extensions.Logging;

namespace CoapEnroll.Testing;

/// <summary>
/// A logger factory for the devices' DTLS stacks that only counts flight retransmissions: the DTLS layer has no metric for them,
/// it logs each one (event 104, "retransmitting flight").
/// </summary>
internal sealed class DtlsRetransmissionCounter : ILoggerFactory, ILogger
{
    private const int RetransmittingEventId = 104;

    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == RetransmittingEventId)
        {
            Interlocked.Increment(ref _count);
        }
    }

    public void Dispose()
    {
    }
}
