using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls;

/// <summary>
/// The CoAP layer's view of one DTLS session (RFC 7252 §9.1.1: the security association identifies the
/// peer). Equality is reference equality, so the endpoint stays the same when a CID peer changes address
/// (RFC 9146 §6). Exposes what the application needs for authorization and channel binding; protocols above read
/// that through <see cref="ISecureSession"/> rather than this type.
/// </summary>
public sealed class DtlsSessionEndPoint : EndPoint, ISecureSession
{
    private readonly DtlsConnection _connection;

    internal DtlsSessionEndPoint(DtlsConnection connection) => _connection = connection;

    internal DtlsConnection Connection => _connection;

    /// <summary>The peer's current transport address.</summary>
    public IPEndPoint RemoteEndPoint => _connection.Remote;

    public override AddressFamily AddressFamily => RemoteEndPoint.AddressFamily;

    /// <summary>True once the handshake completed; false again after close.</summary>
    public bool IsEstablished => _connection.IsEstablished;

    /// <summary>True after close_notify, a fatal alert, eviction or disposal.</summary>
    public bool IsClosed => _connection.IsClosed;

    /// <summary>The negotiated suite (valid once established).</summary>
    public CipherSuite CipherSuite => _connection.Suite?.Suite ?? default;

    /// <inheritdoc/>
    string ISecureSession.CipherSuiteName => CipherSuite.ToString();

    /// <summary>
    /// The peer's certificate chain as sent (leaf first), or null when the peer did not authenticate with a
    /// certificate (anonymous client, or PSK).
    /// </summary>
    public X509Certificate2Collection? PeerCertificates => _connection.PeerCertificates;

    /// <summary>True when <see cref="PeerCertificates"/> chained to a configured trust anchor at handshake time.</summary>
    public bool IsPeerCertificateValidated => _connection.IsPeerCertificateValidated;

    /// <summary>The PSK identity used (RFC 4279), or null for certificate suites.</summary>
    public byte[]? PskIdentity => _connection.PskIdentity?.ToArray();

    /// <summary>
    /// True when the session uses the extended master secret (RFC 7627). Always true unless
    /// <see cref="DtlsOptions.ExtendedMasterSecret"/> is <see cref="ExtendedMasterSecretPolicy.Optional"/> and the peer did not
    /// negotiate it. When false, nothing may rely on the session's uniqueness: <see cref="TlsUnique"/> and
    /// <see cref="ExportKeyingMaterial"/> throw, and a protocol that links a request to the session (EST's proof-of-possession
    /// link, RFC 7030 §3.5) must refuse it.
    /// </summary>
    public bool IsExtendedMasterSecretNegotiated => _connection.IsExtendedMasterSecretNegotiated;

    /// <summary>
    /// tls-unique (RFC 5929 §3.1): the first Finished verify_data of the handshake, the client's in a full handshake. It
    /// identifies the session only with the extended master secret (RFC 7627 §5.4, §6.1).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The handshake is not complete, or <see cref="IsExtendedMasterSecretNegotiated"/> is false.
    /// </exception>
    public byte[] TlsUnique
    {
        get
        {
            ReadOnlySpan<byte> value = _connection.TlsUnique;
            if (value.IsEmpty)
            {
                throw new InvalidOperationException("Handshake not complete.");
            }

            return IsExtendedMasterSecretNegotiated
                ? value.ToArray()
                : throw new InvalidOperationException(DtlsConnection.WithoutExtendedMasterSecret("tls-unique"));
        }
    }

    /// <summary>The CID the peer puts in records to us (empty: none).</summary>
    public ReadOnlyMemory<byte> LocalConnectionId => _connection.LocalConnectionId;

    /// <summary>The CID we put in records to the peer (empty: none).</summary>
    public ReadOnlyMemory<byte> PeerConnectionId => _connection.PeerConnectionId;

    /// <summary>True when the connection_id extension was negotiated (RFC 9146 §3).</summary>
    public bool IsConnectionIdNegotiated => _connection.IsConnectionIdNegotiated;

    /// <summary>RFC 5705 keying material exporter; <paramref name="context"/> null means "no context".</summary>
    /// <exception cref="InvalidOperationException">
    /// No established session, or <see cref="IsExtendedMasterSecretNegotiated"/> is false (RFC 7627 §5.4 disables exporters then).
    /// </exception>
    public byte[] ExportKeyingMaterial(string label, byte[]? context, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        byte[] output = new byte[length];
        _connection.ExportKeyingMaterial(label, context, output);
        return output;
    }

    public override string ToString() => "dtls://" + RemoteEndPoint;
}
