using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>
/// A peer that <see cref="EnrollmentService.AuthenticateAsync"/> authenticated with a certificate this service trusts, or with a
/// configured shared secret.
/// </summary>
public sealed class Requester
{
    internal Requester(PeerIdentity peer, X509Certificate2? certificate, string name, RequesterTrust trust, string identity, SharedSecretGrant? grant = null)
    {
        Grant = grant;
        Peer = peer;
        Certificate = certificate;
        Name = name;
        Trust = trust;
        Identity = identity;
    }

    /// <summary>The peer as its front end described it.</summary>
    public PeerIdentity Peer { get; }

    /// <summary>The certificate that authenticated it; null only for a <see cref="RequesterTrust.SharedSecret"/> requester.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>What the shared secret entitles to, for a <see cref="RequesterTrust.SharedSecret"/> requester; null otherwise.</summary>
    public SharedSecretGrant? Grant { get; }

    /// <summary>
    /// The requester's name in the store and the logs: the certificate's subject and SHA-256 thumbprint, stable across sessions, so
    /// a device retrying in a new session is the same requester (and gets the outcome of its earlier request); "secret:" and the
    /// escaped reference for a shared secret.
    /// </summary>
    public string Name { get; }

    /// <summary>What the certificate chains to.</summary>
    public RequesterTrust Trust { get; }

    /// <summary>
    /// The device the requester is, which holds the names of the certificates it obtains (a subject held by an active certificate
    /// of another identity is refused). A manufacturer certificate is its own identity, its <see cref="Name"/>; a certificate of
    /// this CA has the identity recorded when it was issued, that of whoever asked for it. So a device that enrolls with its IDevID
    /// and then re-enrolls, or enrolls again, with the certificates it obtained stays one identity, while two devices stay two
    /// even when their certificates carry the same subject. A shared secret's identity is its <see cref="Name"/>.
    /// </summary>
    public string Identity { get; }
}
