using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// <c>Dtls:ExtendedMasterSecret</c> of <c>serve</c> and <c>--extended-master-secret</c> of the client commands (RFC 7627). The
/// legacy device is our DTLS client with its test-only switch (no extended_master_secret in its ClientHello), talking to the
/// host <c>serve</c> runs; real legacy peers (libcoap over OpenSSL without the extension) are in Interop.
/// </summary>
public class ExtendedMasterSecretTests
{
    private const string EstDiagnostic =
        "linking of identity and POP information needs a DTLS session with extended_master_secret: without it tls-unique is not unique to the session (RFC 7627 section 6.1)";

    private static readonly Dictionary<string, string?> s_optional = new() { ["Dtls:ExtendedMasterSecret"] = "Optional" };

    private static DtlsClientOptions LegacyClientOptions(InProcessServer server, X509Certificate2? clientCertificate = null)
    {
        var options = new DtlsClientOptions
        {
            OfferExtendedMasterSecret = false,
            ExtendedMasterSecret = ExtendedMasterSecretPolicy.Optional,
            ClientCertificate = clientCertificate,
        };
        options.ServerCertificateTrustAnchors.Add(X509CertificateLoader.LoadCertificateFromFile(server.TrustAnchorFile));
        return options;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    private static X509Certificate2 DemoDevice(InProcessServer server) =>
        X509Certificate2.CreateFromPemFile(server.DemoDeviceCertificateFile, server.DemoDeviceKeyFile);

    [Fact]
    public async Task Default_RefusesALegacyClient_WithHandshakeFailure()
    {
        await using var server = await InProcessServer.StartAsync();

        var refused = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync(server.SecureEndPoint, LegacyClientOptions(server), Timeout()));

        Assert.Equal(AlertDescription.HandshakeFailure, refused.Alert);
        Assert.True(refused.ReceivedFromPeer);
    }

    [Fact]
    public async Task Whoami_SaysYes_ForAClientWithTheExtension()
    {
        await using var server = await InProcessServer.StartAsync(s_optional);

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("extended-master-secret: yes", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Optional_AdmitsALegacyClient_AndWhoamiSaysNo()
    {
        await using var server = await InProcessServer.StartAsync(s_optional);
        await using DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, LegacyClientOptions(server), Timeout());
        await using var coap = new CoapClient(channel);

        CoapMessage response = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/whoami"), channel.RemoteEndPoint, Timeout());

        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Contains("transport: coaps (DTLS 1.2)", response.PayloadText, StringComparison.Ordinal);
        Assert.Contains("extended-master-secret: no", response.PayloadText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Optional_GivenOnTheServeCommandLine_AdmitsALegacyClient()
    {
        await using var server = await CliServer.StartAsync("--Dtls:ExtendedMasterSecret=optional");
        var options = new DtlsClientOptions { OfferExtendedMasterSecret = false, ExtendedMasterSecret = ExtendedMasterSecretPolicy.Optional };
        options.ServerCertificateTrustAnchors.Add(X509CertificateLoader.LoadCertificateFromFile(server.TrustAnchor));
        await using DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.SecurePort), options, Timeout());
        Assert.False(channel.RemoteEndPoint.IsExtendedMasterSecretNegotiated);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("1")]
    public async Task BadServeSetting_IsOneLineAndExit2(string value)
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));

        var result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--Dtls:Port=0", "--data", data,
            $"--Dtls:ExtendedMasterSecret={value}", "--Logging:LogLevel:Default=None");

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"coapenroll: error: Dtls:ExtendedMasterSecret '{value}' is not one of Required, Optional.", line);
    }

    [Fact]
    public async Task ClientOption_IsCheckedBeforeAnythingIsSent()
    {
        var bogus = await CliRunner.RunAsync("coap", "get", "coaps://127.0.0.1:9/whoami", "--trust", "/nonexistent.pem", "--extended-master-secret", "sometimes");
        Assert.True(bogus.ExitCode == ExitCodes.Usage, bogus.Describe());
        Assert.Contains("sometimes", bogus.Error, StringComparison.Ordinal);

        var plain = await CliRunner.RunAsync("coap", "get", "coap://127.0.0.1:9/whoami", "--extended-master-secret", "optional");
        Assert.True(plain.ExitCode == ExitCodes.Usage, plain.Describe());
        Assert.Contains("--extended-master-secret applies to coaps:// URIs only", plain.Error, StringComparison.Ordinal);

        var est = await CliRunner.RunAsync("est", "crts", "--server", "coaps://127.0.0.1:9", "--trust", "/nonexistent.pem", "--extended-master-secret", "never");
        Assert.True(est.ExitCode == ExitCodes.Usage, est.Describe());
    }

    [Fact]
    public async Task ClientOptional_AgainstOurServer_StillNegotiatesTheExtension()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile, "--extended-master-secret", "optional",
            "--verbose", "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("extended-master-secret: yes", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("without extended_master_secret", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Est_PopLinkedSenOverALegacySession_Is4_03_AndAnUnlinkedOneIsIssued()
    {
        await using var server = await InProcessServer.StartAsync(s_optional);
        await using var client = new EstCoapsClient(
            await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, LegacyClientOptions(server, DemoDevice(server)), Timeout()),
            new EstClientOptions { LinkProofOfPossession = false });
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // What --pop-link puts in the CSR, but taken from the raw tls-unique: the library itself refuses to link over this session.
        byte[] linked = client.CreateCsr(new X500DistinguishedName("CN=demo-device-1"), key,
            r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToBase64String(client.Session.Connection.TlsUnique!))));
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(linked, cancellationToken: Timeout()));
        Assert.Equal(CoapCode.Forbidden, refused.Code);
        Assert.Equal(EstDiagnostic, refused.Diagnostic);

        X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), key, cancellationToken: Timeout());
        Assert.Equal("CN=demo-device-1", issued.Subject);

        IReadOnlyList<StoredRequest> requests = await server.Service.Authority!.Store.ListRequestsAsync(null, 100, CancellationToken.None);
        Assert.Equal(2, requests.Count);
        Assert.Contains(requests, r => r.Status == RequestStatus.Rejected && r.RejectionReason == RejectionReason.NotAuthorized && r.ReasonDetail == "/sen: " + EstDiagnostic);
        Assert.Contains(requests, r => r.Status == RequestStatus.Issued);
    }

    [Fact]
    public async Task Est_RequirePopLinking_RefusesEverySenOverALegacySession()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?>(s_optional) { ["Est:RequirePopLinking"] = "true" });
        await using var client = new EstCoapsClient(
            await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, LegacyClientOptions(server, DemoDevice(server)), Timeout()),
            new EstClientOptions { LinkProofOfPossession = false });

        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=legacy-2"), cancellationToken: Timeout()));

        Assert.Equal(CoapCode.Forbidden, refused.Code);
        Assert.Equal(EstDiagnostic, refused.Diagnostic);
    }
}
