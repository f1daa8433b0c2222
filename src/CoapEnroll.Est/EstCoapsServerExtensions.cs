using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Enrollment;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Est;

/// <summary>Hosting entry point: <c>server.MapEstCoaps(options, ca, hierarchy)</c> before <see cref="CoapServer.Listen"/>.</summary>
public static class EstCoapsServerExtensions
{
    /// <summary>
    /// Maps the EST-coaps resources (RFC 9148) on <paramref name="server"/>. Serve them on a DTLS channel whose client trust anchors
    /// are the <see cref="EnrollmentTrustPolicy"/>'s (the host builds it: <c>CoapEnroll.Hosting.DtlsServerTrust</c>); over plain UDP
    /// every EST request is answered 4.01.
    /// </summary>
    public static EstCoapsServer MapEstCoaps(this CoapServer server, EstServerOptions options, CertificateAuthority ca, CaHierarchy hierarchy,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        var est = new EstCoapsServer(options, ca, hierarchy, loggerFactory?.CreateLogger<EstCoapsServer>(), timeProvider);
        est.Map(server);
        return est;
    }

    /// <summary>Maps the EST-coaps resources (RFC 9148) on <paramref name="server"/> in front of the host's <paramref name="enrollment"/> service.</summary>
    public static EstCoapsServer MapEstCoaps(this CoapServer server, EstServerOptions options, EnrollmentService enrollment,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        var est = new EstCoapsServer(options, enrollment, loggerFactory?.CreateLogger<EstCoapsServer>(), timeProvider);
        est.Map(server);
        return est;
    }
}
