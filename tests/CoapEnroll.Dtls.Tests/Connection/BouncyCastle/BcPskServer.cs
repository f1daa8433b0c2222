using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace CoapEnroll.Dtls.Tests;

/// <summary>BouncyCastle's DTLS 1.2 PSK server (TLS_PSK_WITH_AES_128_CCM_8, no identity hint) that grants a fixed CID (RFC 9146) when asked.</summary>
internal sealed class BcPskServer(byte[] identity, byte[] psk, byte[] connectionId)
    : PskTlsServer(new BcTlsCrypto(), new IdentityManager(identity, psk))
{
    public TlsServerContext Context => m_context;

    protected override Org.BouncyCastle.Tls.ProtocolVersion[] GetSupportedVersions() => Org.BouncyCastle.Tls.ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => [Org.BouncyCastle.Tls.CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

    protected override byte[] GetNewConnectionID() => connectionId;

    private sealed class IdentityManager(byte[] identity, byte[] psk) : TlsPskIdentityManager
    {
        public byte[]? GetHint() => null;

        // A copy: BouncyCastle clears the array it is given once the premaster secret is made, and the caller's array is the
        // PSK that other tests share (DtlsLoopbackTests.s_psk), which then read as all zeros.
        public byte[]? GetPsk(byte[] requested) => requested.AsSpan().SequenceEqual(identity) ? (byte[])psk.Clone() : null;
    }
}
