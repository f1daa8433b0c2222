using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace CoapEnroll.Dtls.Tests;

/// <summary>BouncyCastle's DTLS 1.2 PSK client offering TLS_PSK_WITH_AES_128_CCM_8 and the connection_id extension (RFC 9146) with a fixed CID.</summary>
internal sealed class BcPskClient(byte[] identity, byte[] psk, byte[] connectionId)
    : PskTlsClient(new BcTlsCrypto(), new BasicTlsPskIdentity(identity, (byte[])psk.Clone())) // a copy: BouncyCastle may clear what it holds
{
    public TlsClientContext Context => m_context;

    public short? AlertReceived { get; private set; }

    protected override Org.BouncyCastle.Tls.ProtocolVersion[] GetSupportedVersions() => Org.BouncyCastle.Tls.ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => [Org.BouncyCastle.Tls.CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

    protected override byte[] GetNewConnectionID() => connectionId;

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
    {
        AlertReceived = alertDescription;
        base.NotifyAlertReceived(alertLevel, alertDescription);
    }
}
