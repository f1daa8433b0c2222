using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Dtls;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Hosting;

/// <summary>
/// The one place that decides what the coaps:// listener presents and which client certificates its handshake trusts. The listener
/// is shared by every resource on it (EST-coaps today, CMP over CoAP next), so this is the host's decision, not one protocol's; it
/// is taken from the protocol-neutral <see cref="EnrollmentTrustPolicy"/>, so that the handshake and the enrollment decision trust
/// the same CAs.
/// </summary>
public static class DtlsServerTrust
{
    /// <summary>
    /// DTLS server settings on <paramref name="credential"/> with client certificates optional and validated against the CA's trust
    /// anchor, the trusted manufacturer CAs and <paramref name="additionalClientTrustAnchors"/>, with the CA certificates that devices
    /// omit (they present only the leaf this CA issued) as chain-building helpers.
    /// </summary>
    /// <param name="credential">The server's certificate and what it sends after it.</param>
    /// <param name="hierarchy">The CA whose trust policy the handshake applies.</param>
    /// <param name="admitUntrustedClientCertificates">
    /// True (the default): a client certificate that chains to no anchor still completes the handshake, as an unauthenticated
    /// session, so that EST can answer 4.03 with a reason (RFC 9148 §3 leaves authorization to the server; the enrollment service
    /// decides it). False: such a handshake fails with bad_certificate.
    /// </param>
    /// <param name="additionalClientTrustAnchors">More CAs whose client certificates the handshake accepts (<c>Dtls:ClientTrustAnchorFiles</c>).</param>
    public static DtlsServerOptions CreateServerOptions(ServerCredential credential, CaHierarchy hierarchy, bool admitUntrustedClientCertificates = true,
        IEnumerable<X509Certificate2>? additionalClientTrustAnchors = null)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(hierarchy);
        var trust = new EnrollmentTrustPolicy(hierarchy);
        var options = new DtlsServerOptions
        {
            Certificate = credential.Certificate,
            RequireClientCertificate = false,
            AllowUnvalidatedClientCertificates = admitUntrustedClientCertificates,
        };
        foreach (X509Certificate2 certificate in credential.Intermediates)
        {
            options.CertificateChain.Add(certificate);
        }

        options.ClientCertificateTrustAnchors.AddRange(trust.ClientTrustAnchors.ToArray());
        options.ClientCertificateTrustAnchors.AddRange((additionalClientTrustAnchors ?? []).ToArray());
        foreach (X509Certificate2 ca in trust.ClientIntermediates)
        {
            options.ClientCertificateIntermediates.Add(ca);
        }

        return options;
    }
}
