using CoapEnroll.Cmp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// Revokes CMP certificates whose certConf never came (RFC 9483 §4.1.1) and forgets abandoned polls: runs
/// <see cref="CmpServer.SweepAsync"/> every few seconds while the host runs.
/// </summary>
public sealed class CmpSweepService : BackgroundService
{
    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(5);
    private readonly CertificationServices _certification;
    private readonly TimeProvider _time;
    private readonly ILogger<CmpSweepService> _logger;

    public CmpSweepService(CertificationServices certification, TimeProvider time, ILogger<CmpSweepService> logger)
    {
        _certification = certification;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_certification.CmpEnabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(s_period, _time);
        var failures = new PeriodicFailureLog(_logger, _time, "CMP: sweeping expired transactions");
        try
        {
            CmpServer cmp = await _certification.GetCmpServerAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cmp.SweepAsync(stoppingToken);
                    failures.Succeeded();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Failed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
