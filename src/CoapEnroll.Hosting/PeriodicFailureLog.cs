using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// What a job that runs every few seconds logs about its failures, so that an outage of the store or the CA key is a few lines,
/// not a stack trace per run: the first failure in a row, and the first of each other kind in that run, in full (an outage as
/// one warning line, any other failure as an error with its exception), otherwise at most one line a minute while it keeps
/// failing, and one line when it works again.
/// </summary>
internal sealed partial class PeriodicFailureLog
{
    private static readonly TimeSpan s_repeatEvery = TimeSpan.FromMinutes(1);
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _job;
    private int _failuresInARow;
    private DateTimeOffset _lastLogged;
    private readonly HashSet<Type> _kindsLogged = [];

    public PeriodicFailureLog(ILogger logger, TimeProvider time, string job)
    {
        _logger = logger;
        _time = time;
        _job = job;
    }

    public void Failed(Exception exception)
    {
        DateTimeOffset now = _time.GetUtcNow();
        _failuresInARow++;
        CaUnavailableException? unavailable = CaUnavailableException.From(exception);

        // A failure of a kind not seen in this run of failures is logged in full too: an outage that turns into a bug must not
        // show the bug only as a line a minute without its trace. Kinds that alternate are each logged in full once.
        bool newKind = _kindsLogged.Add((unavailable ?? exception).GetType());
        if (_failuresInARow == 1 || newKind)
        {
            if (unavailable is not null)
            {
                LogUnavailable(_logger, _job, unavailable.Message);
            }
            else
            {
                LogFailed(_logger, exception, _job);
            }

            _lastLogged = now;
        }
        else if (now - _lastLogged >= s_repeatEvery)
        {
            LogStillFailing(_logger, _job, _failuresInARow, (unavailable ?? exception).Message);
            _lastLogged = now;
        }
    }

    public void Succeeded()
    {
        if (_failuresInARow > 0)
        {
            LogRecovered(_logger, _job, _failuresInARow);
            _failuresInARow = 0;
            _kindsLogged.Clear();
        }
    }

    [LoggerMessage(422, LogLevel.Error, "{Job} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job);

    [LoggerMessage(423, LogLevel.Warning, "{Job} failed: {Reason}; trying again at its next run")]
    private static partial void LogUnavailable(ILogger logger, string job, string reason);

    [LoggerMessage(424, LogLevel.Warning, "{Job} still fails ({Failures} runs in a row): {Reason}")]
    private static partial void LogStillFailing(ILogger logger, string job, int failures, string reason);

    [LoggerMessage(425, LogLevel.Information, "{Job} works again after {Failures} failed runs")]
    private static partial void LogRecovered(ILogger logger, string job, int failures);
}
