using System.Formats.Asn1;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// Linking identity and proof of possession over EST over HTTPS (RFC 7030 §3.5): a .NET <see cref="SslStream"/> client reads its own
/// tls-unique, puts base64(tls-unique) in the CSR's challengePassword and sends the request over that same TLS session.
/// </summary>
[Trait("Needs", "core")]
public sealed class EstHttpsTlsUniqueTests
{
    [Fact]
    public async Task Tls12_TheSessionsTlsUnique_Links_AndAnotherValueIsRefused()
    {
        await using var est = await EstHttpsHost.StartAsync();

        (int status, string body) = await EnrollOverOwnSessionAsync(est, SslProtocols.Tls12, unique => Convert.ToBase64String(unique));
        Assert.True(status == 200, body);

        (status, body) = await EnrollOverOwnSessionAsync(est, SslProtocols.Tls12, unique => Convert.ToBase64String(RandomNumberGenerator.GetBytes(unique.Length)));
        Assert.True(status == 403, body);
        Assert.Contains("does not match the tls-unique value of this TLS session", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls13_HasNoTlsUnique_SoALinkIsRefusedWithTheReason_AndRequiredLinkingRefusesEverything()
    {
        await using var est = await EstHttpsHost.StartAsync(new Dictionary<string, string?> { ["Est:RequirePopLinking"] = "true" });

        (int status, string body) = await EnrollOverOwnSessionAsync(est, SslProtocols.Tls13, _ => Convert.ToBase64String(new byte[12]));
        Assert.True(status == 403, body);
        Assert.Contains("TLS 1.3 has no tls-unique channel binding", body, StringComparison.Ordinal);

        (status, body) = await EnrollOverOwnSessionAsync(est, SslProtocols.Tls13, null);
        Assert.True(status == 403, body);
        Assert.Contains("TLS 1.3 has no tls-unique", body, StringComparison.Ordinal);

        // Over TLS 1.2 the required link is made.
        (status, body) = await EnrollOverOwnSessionAsync(est, SslProtocols.Tls12, unique => Convert.ToBase64String(unique));
        Assert.True(status == 200, body);
    }

    /// <summary>
    /// Opens a TLS session with the demo device certificate, builds a CSR whose challengePassword is <paramref name="claim"/>(tls-unique)
    /// (none when null), POSTs it to simpleenroll over that session and returns the status and body.
    /// </summary>
    private static async Task<(int Status, string Body)> EnrollOverOwnSessionAsync(EstHttpsHost est, SslProtocols protocol, Func<byte[], string>? claim)
    {
        using X509Certificate2 root = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(est.TrustAnchor));
        using X509Certificate2 device = X509Certificate2.CreateFromPemFile(est.DemoCertificate, est.DemoKey);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", est.HttpsPort);
        await using var tls = new SslStream(tcp.GetStream());
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(root);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocol,
            ClientCertificates = [device],
            CertificateChainPolicy = policy,
        });
        Assert.Equal(protocol, tls.SslProtocol);

        string? challenge = null;
        if (claim is not null)
        {
            byte[] unique = protocol == SslProtocols.Tls12 ? ReadTlsUnique(tls) : new byte[12];
            challenge = claim(unique);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=demo-device-1", key, HashAlgorithmName.SHA256);
        if (challenge is not null)
        {
            var writer = new AsnWriter(AsnEncodingRules.DER);
            writer.WriteCharacterString(UniversalTagNumber.UTF8String, challenge);
            request.OtherRequestAttributes.Add(new AsnEncodedData(new Oid("1.2.840.113549.1.9.7"), writer.Encode()));
        }

        byte[] body = Encoding.ASCII.GetBytes(Convert.ToBase64String(request.CreateSigningRequest()));
        byte[] head = Encoding.ASCII.GetBytes("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
            + $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await tls.WriteAsync(head);
        await tls.WriteAsync(body);
        await tls.FlushAsync();
        using var response = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tls.CopyToAsync(response, timeout.Token);
        string text = Encoding.UTF8.GetString(response.ToArray());
        int status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, text);
    }

    /// <summary>
    /// The client's tls-unique from .NET's channel binding handle (a SEC_CHANNEL_BINDINGS header of 32 bytes whose application data is
    /// "tls-unique:" and the value), read here independently of the server's reader: TLS 1.2's Finished verify_data is 12 bytes.
    /// </summary>
    private static byte[] ReadTlsUnique(SslStream tls)
    {
        using ChannelBinding binding = tls.TransportContext!.GetChannelBinding(ChannelBindingKind.Unique)!;
        byte[] raw = new byte[binding.Size];
        Marshal.Copy(binding.DangerousGetHandle(), raw, 0, raw.Length);
        int length = BitConverter.ToInt32(raw, 24);
        int offset = BitConverter.ToInt32(raw, 28);
        byte[] data = raw.AsSpan(offset, length).ToArray();
        byte[] prefix = Encoding.ASCII.GetBytes("tls-unique:");
        Assert.True(data.AsSpan().StartsWith(prefix), Convert.ToHexString(data));
        byte[] unique = data[prefix.Length..];
        Assert.Equal(12, unique.Length);
        return unique;
    }
}
