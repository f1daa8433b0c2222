using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>
/// What a front end knows about the peer a request came from, taken from its transport without judging it: whether the channel
/// is secure, the certificate chain the peer presented (leaf first), its PSK identity, the channel binding, and which front end
/// (protocol) received the request. <see cref="EnrollmentService.AuthenticateAsync"/> decides who that is.
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
}
