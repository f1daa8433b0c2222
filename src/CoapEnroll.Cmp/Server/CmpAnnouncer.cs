using System.Numerics;
using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Cmp;

/// <summary>
/// Keeps the latest announcement of a <see cref="CmpServer"/> and tells when a new one exists, for transports that push
/// announcements (CoAP Observe on <c>/.well-known/cmp</c>, RFC 9482 §2.5). The state is a CRL announcement of the CA's current
/// CRL: a new one is built when the CRL's cRLNumber changes, which is checked right after every revocation the CMP server makes
/// (<see cref="CmpServer.CertificateRevoked"/>) and whenever <see cref="CheckAsync"/> runs (hosts call it every few seconds, which
/// finds revocations by other processes such as the operator's CLI, and CRLs re-issued before their nextUpdate). A root CA key
/// update of the CA (<see cref="CertificateAuthority.RootCaKeyUpdate"/>, RFC 9810 §4.4) is announced once as a ckuann
/// (<see cref="CmpServer.CreateCaKeyUpdateAnnouncementAsync"/>), found by the same check, and stays the latest announcement until the
/// next CRL change; one present at the first check is announced then. When both change at once, the CRL announcement goes first and
/// the ckuann last, so that an observer that gets only the newest notification (RFC 7641 §4.5.2) gets the key update.
/// </summary>
public sealed partial class CmpAnnouncer : IDisposable
{
    private readonly CmpServer _cmp;
    private readonly CertificateAuthority _authority;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile CmpAnnouncement? _latest;
    private BigInteger? _announcedCrlNumber;
    private RootCaKeyUpdate? _announcedRootUpdate;
    private bool _disposed;

    /// <summary>An announcer for <paramref name="cmp"/>, which signs the announcements, of <paramref name="authority"/>'s CRLs.</summary>
    public CmpAnnouncer(CmpServer cmp, CertificateAuthority authority, ILogger<CmpAnnouncer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(cmp);
        ArgumentNullException.ThrowIfNull(authority);
        _cmp = cmp;
        _authority = authority;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _cmp.CertificateRevoked += OnCertificateRevoked;
    }

    /// <summary>
    /// Raised (by the <see cref="CheckAsync"/> that found the change, never concurrently; handlers must not block) after <see cref="Latest"/> was replaced by a newer announcement; not for
    /// the first one, which announces no change.
    /// </summary>
    public event EventHandler? Announced;

    /// <summary>The latest announcement; null until the first <see cref="CheckAsync"/> or <see cref="GetLatestAsync"/>.</summary>
    public CmpAnnouncement? Latest => _latest;

    /// <summary>The latest announcement, built from the current CRL when there is none yet.</summary>
    public async Task<CmpAnnouncement> GetLatestAsync(CancellationToken cancellationToken)
    {
        if (_latest is { } latest)
        {
            return latest;
        }

        await CheckAsync(cancellationToken);
        return _latest ?? throw new InvalidOperationException("no announcement was built");
    }

    /// <summary>
    /// Compares the CA's current CRL number and root CA key update with the announced ones and, for each that differs, builds a new
    /// announcement and raises <see cref="Announced"/> (unless it is the first announcement). Returns whether a new announcement was made.
    /// </summary>
    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var made = new List<CmpAnnouncement>(2);
            CrlSnapshot crl = await _authority.GetCrlAsync(cancellationToken);
            if (_announcedCrlNumber != crl.CrlNumber)
            {
                CmpAnnouncement crlAnnouncement = await _cmp.CreateCrlAnnouncementAsync(crl, cancellationToken);
                _announcedCrlNumber = crl.CrlNumber;
                LogAnnouncement(_logger, crl.CrlNumber, crl.Count);
                made.Add(crlAnnouncement);
            }

            if (_authority.RootCaKeyUpdate is { } update && !ReferenceEquals(update, _announcedRootUpdate))
            {
                // Made before it counts as announced: a protection key that cannot sign now (a lost token) is tried again next check.
                made.Add(await _cmp.CreateCaKeyUpdateAnnouncementAsync(update, cancellationToken));
                _announcedRootUpdate = update;
                LogKeyUpdateAnnouncement(_logger, update.NewWithNew.Subject, update.NewWithNew.SerialNumber);
            }

            foreach (CmpAnnouncement next in made)
            {
                bool first = _latest is null;
                _latest = next;
                if (!first)
                {
                    Announced?.Invoke(this, EventArgs.Empty);
                }
            }

            return made.Count > 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops listening to the CMP server's revocations.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _cmp.CertificateRevoked -= OnCertificateRevoked;
        _gate.Dispose();
    }

    // The revocation is stored when this runs; the check goes to the thread pool so the rr answer does not wait for a CRL.
    private void OnCertificateRevoked(object? sender, CmpRevocationEventArgs e) => _ = Task.Run(async () =>
    {
        try
        {
            if (!_disposed)
            {
                await CheckAsync(CancellationToken.None);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckFailed(_logger, ex, e.SerialHex);
        }
    });

    [LoggerMessage(431, LogLevel.Information, "CMP: CRL announcement of CRL number {CrlNumber} ({Count} revoked)")]
    private static partial void LogAnnouncement(ILogger logger, BigInteger crlNumber, int count);

    [LoggerMessage(433, LogLevel.Information, "CMP: CA key update announcement of the new root {Subject} (serial {Serial})")]
    private static partial void LogKeyUpdateAnnouncement(ILogger logger, string subject, string serial);

    [LoggerMessage(432, LogLevel.Error, "CMP: announcing the revocation of {Serial} failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string serial);
}
