using Microsoft.Extensions.Logging;

namespace CoapEnroll.Ca;

/// <summary>
/// How many requests wait for approval in one CA's store, for the observable gauge <c>ca.requests.awaiting_approval</c>
/// (<see cref="CaMetrics"/>). A gauge is read synchronously while metrics are collected, and a store query cannot be waited for
/// there, so it reports the count last read from the store: read whenever the CA counts pending requests anyway (a request that
/// needs approval, <see cref="CertificateAuthority.CountPendingRequestsAsync"/>), moved by one when this CA stores or decides one,
/// and read again in the background when a collection finds it older than <see cref="RefreshInterval"/>, which catches what other
/// processes on the same store (<c>coapenroll requests</c>, other nodes) decided.
/// </summary>
internal sealed class PendingRequestCount
{
    /// <summary>How old the count may be before a collection starts reading it again.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan s_refreshTimeout = TimeSpan.FromSeconds(30);

    private readonly ICertificateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _value = -1;
    private long _readAt;
    private int _refreshing;

    public PendingRequestCount(ICertificateStore store, TimeProvider time, ILogger logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Reads the count from the store and keeps it.</summary>
    public async Task<int> ReadAsync(CancellationToken cancellationToken)
    {
        (int total, _) = await _store.CountPendingRequestsAsync("", cancellationToken);
        Set(total);
        return total;
    }

    /// <summary>Keeps <paramref name="total"/>, just read from the store.</summary>
    public void Set(int total)
    {
        Volatile.Write(ref _value, total);
        Volatile.Write(ref _readAt, _time.GetTimestamp());
    }

    /// <summary>One request more or fewer waits (this CA stored or decided one); nothing while the count is unknown.</summary>
    public void Add(int delta)
    {
        long current = Volatile.Read(ref _value);
        while (current >= 0)
        {
            long seen = Interlocked.CompareExchange(ref _value, Math.Max(0, current + delta), current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>The count last read (null before the first read), starting a read in the background when it is old.</summary>
    public long? Observe()
    {
        long readAt = Volatile.Read(ref _readAt);
        if (readAt == 0 || _time.GetElapsedTime(readAt) >= RefreshInterval)
        {
            StartRefresh();
        }

        long value = Volatile.Read(ref _value);
        return value >= 0 ? value : null;
    }

    // One read at a time, off the collecting thread; a store that fails leaves the last count in place.
    private void StartRefresh()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(s_refreshTimeout, _time);
                await ReadAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or InvalidOperationException
                or System.Data.Common.DbException or IOException or TimeoutException)
            {
                CaLog.PendingCountFailed(_logger, ex.GetType().Name, ex.Message);
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        });
    }
}
