using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>
/// What a front end knows about the peer a request came from, taken from its transport without judging it: whether the channel
/// is secure, the certificate chain the peer presented (leaf first), its PSK identity, the channel binding, and which front end
/// (protocol) received the request; or, for a request that protects itself (CMP), the certificates its signature was verified
/// with, or the shared secret its MAC was verified with. <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, CancellationToken)"/> decides who that is.
/// </summary>
public sealed class PeerIdentity
{
    private PeerIdentity(string frontEnd)
    {
        ArgumentException.ThrowIfNullOrEmpty(frontEnd);
        FrontEnd = frontEnd;
    }

    /// <summary>The front end that received the request ("est-coaps", "cmp-coap", "est-https"); recorded with every request.</summary>
    public string FrontEnd { get; }

    /// <summary>True when the request came over an established secure channel ((D)TLS).</summary>
    public bool IsSecureChannel { get; private init; }

    /// <summary>The certificates the peer presented in the handshake, its own first; empty when it presented none.</summary>
    public IReadOnlyList<X509Certificate2> Certificates { get; private init; } = [];

    /// <summary>The PSK identity of the channel, or null.</summary>
    public ReadOnlyMemory<byte>? PskIdentity { get; private init; }

    /// <summary>The channel binding, or null when the channel offers none.</summary>
    public ChannelBinding? ChannelBinding { get; private init; }

    /// <summary>
    /// True when the request's own signature (a CMP message's protection) was verified with <see cref="Certificates"/>[0]; the
    /// channel it came over does not matter and has no binding.
    /// </summary>
    public bool IsSignedMessage { get; private init; }

    /// <summary>The reference of the shared secret whose MAC protects the request (CMP senderKID), or null.</summary>
    public string? SharedSecretReference { get; private init; }

    /// <summary>What the shared secret <see cref="SharedSecretReference"/> entitles to; null when there is none.</summary>
    public SharedSecretGrant? SharedSecretGrant { get; private init; }

    /// <summary>A peer on an insecure channel: nobody in particular.</summary>
    public static PeerIdentity Anonymous(string frontEnd) => new(frontEnd);

    /// <summary>A peer on a secure channel, with the certificates it presented (possibly none) and its PSK identity, if any.</summary>
    public static PeerIdentity SecureChannel(string frontEnd, IReadOnlyList<X509Certificate2> certificates, ReadOnlyMemory<byte>? pskIdentity, ChannelBinding? channelBinding)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        return new PeerIdentity(frontEnd)
        {
            IsSecureChannel = true,
            Certificates = certificates,
            PskIdentity = pskIdentity,
            ChannelBinding = channelBinding,
        };
    }

    /// <summary>
    /// A request whose signature the front end verified with <paramref name="certificates"/>[0] (the chain follows): authenticated as
    /// a client certificate of a secure channel is, without a channel binding.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="certificates"/> is empty.</exception>
    public static PeerIdentity SignedMessage(string frontEnd, IReadOnlyList<X509Certificate2> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        if (certificates.Count == 0)
        {
            throw new ArgumentException("the certificate that verified the signature is needed", nameof(certificates));
        }

        return new PeerIdentity(frontEnd) { IsSignedMessage = true, Certificates = certificates };
    }

    /// <summary>
    /// A request whose MAC the front end verified with the configured secret named <paramref name="reference"/>, which entitles to
    /// <paramref name="grant"/>.
    /// </summary>
    public static PeerIdentity SharedSecret(string frontEnd, string reference, SharedSecretGrant grant)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentNullException.ThrowIfNull(grant);
        return new PeerIdentity(frontEnd) { SharedSecretReference = reference, SharedSecretGrant = grant };
    }
}
