using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Transport;

/// <summary>
/// What a secure datagram channel knows about the session a datagram arrived over: whether it is established, who the
/// peer authenticated as (certificate chain or PSK identity), the cipher suite, and the tls-unique channel binding. A
/// secure channel (DTLS) reports its sessions as the <see cref="DatagramReceiveResult.RemoteEndPoint"/> of what it
/// receives, and those endpoints implement this interface; a plain channel (UDP) reports addresses that do not. Protocols
/// above (CoAP, EST) read the peer's identity through it instead of knowing the secure channel's types, in the manner of
/// ASP.NET Core's <c>ITlsConnectionFeature</c>.
/// </summary>
public interface ISecureSession
{
    /// <summary>True once the handshake completed; false again after the session closed.</summary>
    bool IsEstablished { get; }

    /// <summary>The peer's current transport address (it can change during a session, e.g. with a DTLS connection ID).</summary>
    IPEndPoint RemoteEndPoint { get; }

    /// <summary>The negotiated cipher suite's IANA name (e.g. <c>TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8</c>), once established.</summary>
    string CipherSuiteName { get; }

    /// <summary>
    /// The peer's certificate chain as sent (leaf first), or null when the peer did not authenticate with a certificate
    /// (anonymous, or PSK).
    /// </summary>
    X509Certificate2Collection? PeerCertificates { get; }

    /// <summary>True when <see cref="PeerCertificates"/> chained to a configured trust anchor at handshake time.</summary>
    bool IsPeerCertificateValidated { get; }

    /// <summary>The PSK identity the peer used (RFC 4279), or null when the session is not PSK-authenticated.</summary>
    byte[]? PskIdentity { get; }

    /// <summary>
    /// True when the session's channel binding is unique to it: for (D)TLS 1.2, the extended master secret was negotiated
    /// (RFC 7627). When false, <see cref="TlsUnique"/> throws and nothing may link a request to the session (RFC 7627 §5.4,
    /// §6.1; EST's proof-of-possession link, RFC 7030 §3.5).
    /// </summary>
    bool IsExtendedMasterSecretNegotiated { get; }

    /// <summary>The tls-unique channel binding (RFC 5929 §3.1).</summary>
    /// <exception cref="InvalidOperationException">
    /// The handshake is not complete, or <see cref="IsExtendedMasterSecretNegotiated"/> is false.
    /// </exception>
    byte[] TlsUnique { get; }
}
