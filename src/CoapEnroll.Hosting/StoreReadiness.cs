using System.Globalization;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// Whether the store answers, for <c>/readyz</c>: a cheap query (in a server, counting the requests waiting for approval,
/// <see cref="Ca.CertificateAuthority.CountPendingRequestsAsync"/>, then <see cref="Ca.CaSigningKey.CheckAvailableAsync"/> of the
/// issuing key) must complete within the timeout. The query runs off the
/// caller's thread, because a store's asynchronous calls may block (SQLite's do, up to its busy timeout), and at most one runs at a
/// time: checks that arrive while it runs wait for the same query, so a stuck store holds one query, not one per probe. Changes
/// between ready and not ready are logged.
/// </summary>
public sealed partial class StoreReadiness
{
    private const int MaxReasonLength = 200;

    private readonly Func<CancellationToken, Task> _query;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private Task? _running;
    private int _state; // 0 unknown, 1 ready, 2 not ready

    /// <param name="query">The cheap query; it gets a token cancelled after <paramref name="timeout"/>.</param>
    /// <param name="timeout">How long the query may take.</param>
    /// <param name="time">The clock of the timeout.</param>
    /// <param name="logger">Where changes between ready and not ready are logged.</param>
    public StoreReadiness(Func<CancellationToken, Task> query, TimeSpan timeout, TimeProvider time, ILogger<StoreReadiness> logger)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _query = query;
        _timeout = timeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>Null when the store answered within the timeout; otherwise a short reason, one line, for the 503's body.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        Task running;
        lock (_lock)
        {
            if (_running is not { IsCompleted: false })
            {
                _running = Task.Run(RunQueryAsync, CancellationToken.None);
            }

            running = _running;
        }

        string? reason;
        try
        {
            await running.WaitAsync(_timeout, _time, cancellationToken);
            reason = null;
        }
        catch (TimeoutException)
        {
            reason = $"the store did not answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reason = $"the store did not answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            reason = Describe(ex);
        }

        Report(reason);
        return reason;
    }

    private async Task RunQueryAsync()
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        await _query(timeout.Token);
    }

    private void Report(string? reason)
    {
        int state = reason is null ? 1 : 2;
        int previous = Interlocked.Exchange(ref _state, state);
        if (state == previous)
        {
            return;
        }

        if (reason is null)
        {
            LogReady();
        }
        else
        {
            LogNotReady(reason);
        }
    }

    // The exception's type and the first line of its message, cut: enough for an operator, never a stack trace or a page of SQL.
    private static string Describe(Exception ex)
    {
        string message = ex.Message.Split('\n', 2)[0].Trim();
        string text = ex is Ca.CaKeyUnavailableException ? $"the CA key is unavailable: {message}" : $"the store failed: {ex.GetType().Name}: {message}";
        return text.Length <= MaxReasonLength ? text : text[..MaxReasonLength];
    }

    [LoggerMessage(60, LogLevel.Warning, "Not ready (/readyz answers 503): {Reason}")]
    private partial void LogNotReady(string reason);

    [LoggerMessage(61, LogLevel.Information, "Ready: the store answers (/readyz answers 200)")]
    private partial void LogReady();
}
