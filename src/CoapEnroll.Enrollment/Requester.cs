using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>
/// A peer that <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, CancellationToken)"/> authenticated with a certificate this service trusts, or with a
/// configured shared secret.
/// </summary>
public sealed class Requester
{
    internal Requester(PeerIdentity peer, X509Certificate2? certificate, string name, RequesterTrust trust, string identity, SharedSecretGrant? grant = null,
        IReadOnlyList<string>? repeatableRequestKeys = null)
    {
        Grant = grant;
        RepeatableRequestKeys = repeatableRequestKeys;
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

    /// <summary>
    /// Whether the certificate is one of this CA's that a re-enrollment it made itself superseded, and the requester may do nothing
    /// but repeat that re-enrollment (its answer was lost) to get the certificate it was issued then. Only
    /// <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, EnrollmentOperation?, CancellationToken)"/> for
    /// <see cref="EnrollmentOperation.Reenroll"/> admits such a requester; every other request of it is refused as of a certificate
    /// that is no longer active.
    /// </summary>
    public bool IsRepeatOnly => RepeatableRequestKeys is not null;

    /// <summary>For <see cref="IsRepeatOnly"/>: the request keys of the re-enrollments it may repeat; null otherwise.</summary>
    internal IReadOnlyList<string>? RepeatableRequestKeys { get; }
}
