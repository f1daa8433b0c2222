using CoapEnroll.Ca;
using CoapEnroll.Cmp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

public sealed partial class CertificationServices
{
    private CmpAnnouncer? _cmpAnnouncer;

    /// <summary>Whether CMP announcements are observable on coap(s)://…/.well-known/cmp (<c>Cmp:Announcements</c>, default true, with CMP enabled).</summary>
    public bool CmpAnnouncementsEnabled => CmpEnabled && _configuration.GetValue("Cmp:Announcements", true);

    /// <summary>
    /// How often the CRL number is checked for revocations the CMP server did not make itself, e.g. by the operator's CLI
    /// (<c>Cmp:AnnouncementInterval</c>, default 2 seconds, at least 100 ms).
    /// </summary>
    public TimeSpan CmpAnnouncementInterval
    {
        get
        {
            TimeSpan interval = _configuration.GetValue("Cmp:AnnouncementInterval", TimeSpan.FromSeconds(2));
            return interval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : interval;
        }
    }

    /// <summary>The announcer of the CMP server (<see cref="GetCmpServerAsync"/>), built once.</summary>
    public async Task<CmpAnnouncer> GetCmpAnnouncerAsync(CancellationToken cancellationToken)
    {
        CmpServer cmp = await GetCmpServerAsync(cancellationToken);
        CertificateAuthority authority = await GetAuthorityAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _cmpAnnouncer ??= new CmpAnnouncer(cmp, authority, _loggerFactory.CreateLogger<CmpAnnouncer>());
        }
        finally
        {
            _gate.Release();
        }
    }
}
