using CoapEnroll.Ca;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting.Tests;

/// <summary>
/// <see cref="PeriodicFailureLog"/>: a job that runs every few seconds through a store outage logs a handful of lines, not a stack
/// trace per run, and says when it works again.
/// </summary>
public class PeriodicFailureLogTests
{
    [Fact]
    public void AnOutage_OneWarningWithoutTrace_ThenOneLineAMinute_ThenRecovered()
    {
        var time = new ManualTime();
        var logger = new ListLogger();
        var log = new PeriodicFailureLog(logger, time, "sweeping");
        var outage = new InvalidOperationException("wrapped", new SqliteException("database or disk is full", 13));

        for (int run = 0; run < 60; run++)
        {
            log.Failed(outage);
            time.Advance(TimeSpan.FromSeconds(5));
        }

        log.Succeeded();
        log.Succeeded();

        Assert.Collection(logger.Entries,
            first =>
            {
                Assert.Equal((LogLevel.Warning, 423), (first.Level, first.Id));
                Assert.Null(first.Exception);
                Assert.Contains("sweeping failed: the certificate store is unavailable: database or disk is full; trying again", first.Text, StringComparison.Ordinal);
            },
            minute => Assert.Equal((LogLevel.Warning, 424, "sweeping still fails (13 runs in a row)"), (minute.Level, minute.Id, minute.Text[..minute.Text.IndexOf(':', StringComparison.Ordinal)])),
            minute => Assert.Contains("(25 runs in a row)", minute.Text, StringComparison.Ordinal),
            minute => Assert.Contains("(37 runs in a row)", minute.Text, StringComparison.Ordinal),
            minute => Assert.Contains("(49 runs in a row)", minute.Text, StringComparison.Ordinal),
            back => Assert.Equal((LogLevel.Information, 425, "sweeping works again after 60 failed runs"), (back.Level, back.Id, back.Text)));
    }

    [Fact]
    public void AFailureOfTheServersOwn_IsAnErrorWithItsException_AndEachNewRunOfFailuresStartsAgain()
    {
        var time = new ManualTime();
        var logger = new ListLogger();
        var log = new PeriodicFailureLog(logger, time, "announcing");
        var bug = new InvalidOperationException("a bug");

        log.Failed(bug);
        log.Failed(bug);
        log.Succeeded();
        log.Failed(new CaKeyUnavailableException("the token was removed"));

        Assert.Collection(logger.Entries,
            error => Assert.Equal((LogLevel.Error, 422, (Exception?)bug), (error.Level, error.Id, error.Exception)),
            back => Assert.Equal("announcing works again after 2 failed runs", back.Text),
            key => Assert.Equal((LogLevel.Warning, "announcing failed: the token was removed; trying again at its next run"), (key.Level, key.Text)));
    }

    [Fact]
    public void AnOutageThatTurnsIntoABug_LogsTheBugInFull()
    {
        var time = new ManualTime();
        var logger = new ListLogger();
        var log = new PeriodicFailureLog(logger, time, "sweeping");
        var bug = new InvalidOperationException("a bug");

        log.Failed(new SqliteException("database is locked", 5));
        log.Failed(new SqliteException("database is locked", 5));
        log.Failed(bug);
        log.Failed(bug);
        log.Failed(new SqliteException("database is locked", 5)); // kinds that alternate: each in full once
        log.Failed(bug);

        Assert.Collection(logger.Entries,
            outage => Assert.Equal((LogLevel.Warning, 423), (outage.Level, outage.Id)),
            error => Assert.Equal((LogLevel.Error, 422, (Exception?)bug), (error.Level, error.Id, error.Exception)));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 8, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, int Id, string Text, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId.Id, formatter(state, exception), exception));
    }
}
