using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;

namespace CoapEnroll.Est;

/// <summary>Settings of <see cref="EstCoapsClient"/>.</summary>
public sealed class EstClientOptions
{
    /// <summary>
    /// The root resource when not discovered (RFC 9148 §4.1); with <see cref="UseDiscovery"/>, the root preferred when the server
    /// announces EST under several.
    /// </summary>
    public string Root { get; set; } = EstServerOptions.WellKnownRoot;

    /// <summary>The label (CA profile) inserted before the operation (<c>root/label/sen</c>); null for none.</summary>
    public string? Label { get; set; }

    /// <summary>Find the resources with <c>GET /.well-known/core?rt=ace.est*</c> before the first operation (RFC 9148 §4.1).</summary>
    public bool UseDiscovery { get; set; }

    /// <summary>
    /// Put base64(tls-unique) of the session into the challengePassword of CSRs the client builds (RFC 7030 §3.5: clients
    /// SHOULD link identity and POP). Default true. Over a session without the extended master secret (a legacy server and
    /// <see cref="CoapEnroll.Dtls.DtlsOptions.ExtendedMasterSecret"/> Optional) building such a CSR throws: turn this off there.
    /// </summary>
    public bool LinkProofOfPossession { get; set; } = true;

    /// <summary>
    /// How long the client keeps resending a request answered 5.03 (RFC 9148 §4.7) or 4.29 (RFC 8516) with Max-Age before giving up.
    /// </summary>
    public TimeSpan MaxPendingWait { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The wait after a 5.03 or 4.29 is lengthened by a random share of itself up to this (0 to 1; default 0.5), so that clients a
    /// server refused together do not all come back at the same moment. 0 waits exactly the Max-Age.
    /// </summary>
    public double BusyJitter { get; set; } = 0.5;

    /// <summary>
    /// Trust anchors for verifying the signer of an encrypted server-generated key; empty uses the certificates of the last
    /// /crts answer (the Explicit TA database, RFC 7030 §4.1.3).
    /// </summary>
    public X509Certificate2Collection TrustAnchors { get; } = [];

    /// <summary>
    /// Certificates, besides the EST server's own DTLS certificate, allowed to sign an encrypted server-generated key
    /// (RFC 7030 §4.4.2: "the party that generated the private key"), e.g. a separate key generator behind a registrar.
    /// </summary>
    public X509Certificate2Collection KeyGeneratorCertificates { get; } = [];

    /// <summary>CoAP settings (block size, transmission parameters).</summary>
    public CoapClientOptions Coap { get; set; } = new();
}
