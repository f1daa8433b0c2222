using System.Net;

namespace CoapEnroll.Dtls.Tests;

/// <summary>Inputs the fuzz targets (fuzz/, issue 11) found, each a regression test where the fix is.</summary>
public class DtlsFuzzRegressionTests
{
    // Found by fuzz/ (dtls-certificate, fuzz/regressions/dtls-certificate/undecodable-ec-key.bin): a certificate that decodes
    // as X.509 with an id-ecPublicKey whose key does not decode. GetECDsaPublicKey threw, and the server answered
    // internal_error and logged an internal error for what is the peer's fault.
    private static readonly byte[] s_undecodableEcKey = Convert.FromHexString(
            "308201A83082014FA0030201020214799826D80DF14A96922FD7DD206ED8A4BC736B3D300A06082A8648CE3D040302301D311B301906035504030C12" +
            "436F6170456E726F6C6C2066757A7A2043413020170D3236313230363137313133355A180F32313236313131323137313133355A3016311430120603" +
            "5504030C0B66757A7A2D6465766963653059301306072A8648CE3D020106082A8648CE3D0301070342000417F71F0CFC6C6022F3CB2A4CEC2E7188D7" +
            "B32155C6174B1FAF79C16537E86EA1C0F5106F3AE3717B876F8725340AD748699751C4570000007F2CB3EB2DE6E456A372307030090603551D130402" +
            "3000300E0603551D0F0101FF04040302038830130603551D25040C300A06082B06010505070302301D0603551D0E04160414C7241EEE1A39C6741E08" +
            "E1CD8C3E97D50BBE4BE1301F0603551D230418301680142769F4A8D0A416C9CF1727AE8BE9ACA31F561277300A06082A8648CE3D0403020347003044" +
            "0220405ABCA6AC1EA7703A5E1ADFF96225D54D1A9C1D66153DE5073F0CBAC9A3E75D02200F50D725A4ECDE3A9DD0DAC5FB05BC8735C53926E603059C" +
            "67C6761B59A719D1");

    [Fact]
    public void CertificateWithAnUndecodableEcKey_HasNoKey_InsteadOfThrowing()
    {
        Assert.True(CertificateMessage.TryParse(new CertificateMessage { Certificates = [s_undecodableEcKey] }.Encode(), out CertificateMessage? message));
        var chain = DtlsCertificateValidator.TryLoad(message.Certificates);
        Assert.NotNull(chain);
        Assert.Null(DtlsCertificateValidator.TryGetECDsaPublicKey(chain[0]));
    }

    [Fact]
    public async Task ClientCertificateWithAnUndecodableEcKey_IsUnsupportedCertificate_NotInternalError()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await client.HandshakeToServerHelloDoneAsync(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
        await client.SendAsync(client.Plain(new CertificateMessage { Certificates = [s_undecodableEcKey] }));

        var replies = new List<byte[]>();
        DtlsAlert? alert = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); alert is null && DateTime.UtcNow < deadline;)
        {
            replies.AddRange(await client.ReceiveAllAsync());
            alert = client.FindAlert(replies);
        }

        Assert.NotNull(alert);
        Assert.Equal(AlertLevel.Fatal, alert.Value.Level);
        Assert.Equal(AlertDescription.UnsupportedCertificate, alert.Value.Description);
    }
}
