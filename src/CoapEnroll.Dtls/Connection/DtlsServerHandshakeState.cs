using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>The server's handshake-only state: <see cref="DtlsHandshakeState"/> plus the key exchange objects and the CID allocator.</summary>
internal sealed class DtlsServerHandshakeState(ushort clientHelloMessageSeq, Func<DtlsServerConnection, byte[]> allocateConnectionId)
    : DtlsHandshakeState(clientHelloMessageSeq)
{
    /// <summary>Allocates the server's CID when the client asks for one (the channel's table decides uniqueness).</summary>
    public Func<DtlsServerConnection, byte[]> AllocateConnectionId { get; } = allocateConnectionId;

    /// <summary>The ephemeral ECDH key pair, from ServerKeyExchange until ClientKeyExchange.</summary>
    public EcdheKeyExchange? KeyExchange { get; set; }

    /// <summary>The client certificate's public key, from Certificate until CertificateVerify.</summary>
    public ECDsa? ClientKey { get; set; }

    /// <summary>True while a key exchange object is held.</summary>
    public bool HoldsKeys => KeyExchange is not null || ClientKey is not null;

    /// <summary>Disposes the ephemeral key pair.</summary>
    public void DisposeKeyExchange()
    {
        KeyExchange?.Dispose();
        KeyExchange = null;
    }

    /// <inheritdoc/>
    public override void Release()
    {
        base.Release();
        DisposeKeyExchange();
        ClientKey?.Dispose();
        ClientKey = null;
    }
}
