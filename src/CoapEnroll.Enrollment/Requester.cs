using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>A peer that <see cref="EnrollmentService.AuthenticateAsync"/> authenticated with a certificate this service trusts.</summary>
public sealed class Requester
{
    internal Requester(PeerIdentity peer, X509Certificate2 certificate, string name, RequesterTrust trust)
    {
        Peer = peer;
        Certificate = certificate;
        Name = name;
        Trust = trust;
    }

    /// <summary>The peer as its front end described it.</summary>
    public PeerIdentity Peer { get; }

    /// <summary>The certificate that authenticated it.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// The requester's name in the store and the logs: the certificate's subject and SHA-256 thumbprint, stable across sessions, so
    /// a device retrying in a new session is the same requester (and gets the outcome of its earlier request).
    /// </summary>
    public string Name { get; }

    /// <summary>What the certificate chains to.</summary>
    public RequesterTrust Trust { get; }
}
