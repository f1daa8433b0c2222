using CoapEnroll.Cmp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// Runs <see cref="CmpAnnouncer.CheckAsync"/> every <see cref="CertificationServices.CmpAnnouncementInterval"/> while the host
/// runs, so that a revocation the CMP server did not make (the operator's CLI is another process) is announced to the observers
/// of <c>/.well-known/cmp</c> within seconds, and, before that, looks for a root CA key update that <c>coapenroll ca rollover</c>
/// made meanwhile (<see cref="CertificationServices.RefreshRootCaKeyUpdateAsync"/>), announced as ckuann. CMP revocations are
/// announced at once without it.
/// </summary>
public sealed class CmpAnnouncementService : BackgroundService
{
    private readonly CertificationServices _certification;
    private readonly TimeProvider _time;
    private readonly ILogger<CmpAnnouncementService> _logger;

    public CmpAnnouncementService(CertificationServices certification, TimeProvider time, ILogger<CmpAnnouncementService> logger)
    {
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _certification = certification;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_certification.CmpAnnouncementsEnabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(_certification.CmpAnnouncementInterval, _time);
        var failures = new PeriodicFailureLog(_logger, _time, "CMP: checking the CRL and the root CA key update for announcements");
        try
        {
            CmpAnnouncer announcer = await _certification.GetCmpAnnouncerAsync(stoppingToken);
            do
            {
                try
                {
                    await _certification.RefreshRootCaKeyUpdateAsync(stoppingToken);
                    await announcer.CheckAsync(stoppingToken);
                    failures.Succeeded();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Failed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
