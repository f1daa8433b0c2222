using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// Every request of <see cref="CsrCorpus"/> POSTed to /sen by the demo device over DTLS: never 5.00; 4.03 for a name the CA
/// refuses to certify, 4.00 for everything else, each with its reason as the diagnostic payload and stored as a rejected request
/// with the CSR as received. The unusual but valid ones are issued (2.04). A subset goes to /skg as well.
/// </summary>
public sealed class EstCsrCorpusTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("coapenroll-est-corpus-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Every_malformed_or_unusual_csr_gets_4_xx_with_its_reason_and_is_stored()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        IReadOnlyList<CsrCase> corpus = await CsrCorpus.RefusedAsync(_scratch);
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        var failures = new List<string>();
        foreach (CsrCase item in corpus)
        {
            CoapMessage response = await coap.SendAsync(Post("sen", item.Der), channel.RemoteEndPoint, EstFixture.Timeout());
            CoapCode expected = item.Reason is nameof(RejectionReason.SubjectNotAllowed) or nameof(RejectionReason.SubjectAltNameNotAllowed)
                ? CoapCode.Forbidden
                : CoapCode.BadRequest;
            if (response.Code != expected || !response.PayloadText.Contains(item.Detail, StringComparison.Ordinal))
            {
                failures.Add($"{item.Name}: {response.Code} '{response.PayloadText}', expected {expected} with '{item.Detail}' ({item.Reason})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        IReadOnlyList<StoredRequest> rows = await est.RequestsAsync();
        Assert.Equal(corpus.Count, rows.Count);
        foreach ((CsrCase item, StoredRequest row) in corpus.Zip(rows.Reverse()))
        {
            Assert.True(row.Status == RequestStatus.Rejected && row.RejectionReason.ToString() == item.Reason && row.CsrDer.AsSpan().SequenceEqual(item.Der)
                && row.ReasonDetail!.Contains(item.Detail, StringComparison.Ordinal), $"{item.Name}: stored {row.Status} {row.RejectionReason} {row.ReasonDetail}");
            Assert.Equal(EstFixture.RequesterOf(est.Device), row.Requester);
        }

        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Unusual_but_valid_csrs_are_issued()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        foreach ((string name, byte[] der) in CsrCorpus.Accepted())
        {
            CoapMessage response = await coap.SendAsync(Post("sen", der), channel.RemoteEndPoint, EstFixture.Timeout());
            Assert.True(response.Code == CoapCode.Changed, $"{name}: {response.Code} {response.PayloadText}");
        }

        Assert.Equal(CsrCorpus.Accepted().Count, (await est.CertificatesAsync()).Count);
    }

    [Theory]
    [InlineData("Ed25519 (openssl)")]
    [InlineData("NUL in the CN")]
    [InlineData("CN invalid UTF-8")]
    [InlineData("PrintableString with @")]
    [InlineData("PrintableString with *")]
    [InlineData("BMPString CN")]
    [InlineData("two CNs")]
    public async Task Server_key_generation_refuses_bad_names_and_ignores_the_csr_key(string name)
    {
        // RFC 9148 §4.8: /skg ignores the request's key and signature, so an Ed25519 request is served with a generated key; the
        // subject rules hold all the same.
        await using EstFixture est = await EstFixture.StartAsync();
        CsrCase item = (await CsrCorpus.RefusedAsync(_scratch)).Single(c => c.Name == name);
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(Post("skg", item.Der), channel.RemoteEndPoint, EstFixture.Timeout());
        if (name.StartsWith("Ed25519", StringComparison.Ordinal))
        {
            Assert.True(response.Code == CoapCode.Changed, $"{response.Code} {response.PayloadText}");
            Assert.Single(await est.CertificatesAsync());
        }
        else
        {
            Assert.True(response.Code == CoapCode.BadRequest || response.Code == CoapCode.Forbidden, $"{response.Code} {response.PayloadText}");
            Assert.Contains(item.Detail, response.PayloadText, StringComparison.Ordinal);
            Assert.Equal(RequestStatus.Rejected, Assert.Single(await est.RequestsAsync()).Status);
            Assert.Empty(await est.CertificatesAsync());
        }
    }

    [Fact]
    public async Task A_manufacturer_CA_certificate_as_client_identity_is_4_03_and_not_stored()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        using X509Certificate2 manufacturer =
            X509Certificate2.CreateFromPemFile(est.Hierarchy.Layout.ManufacturerCaCertificate, est.Hierarchy.Layout.ManufacturerCaKey);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sub-ca", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 issued = request.Create(manufacturer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), [7, 7, 7, 7]);
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);

        await using DtlsClientChannel channel = await est.ConnectAsync(withKey);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(Post("sen", new Pkcs10Builder(key).Build()), channel.RemoteEndPoint, EstFixture.Timeout());

        Assert.Equal(CoapCode.Forbidden, response.Code);
        Assert.StartsWith("the client certificate is a CA certificate (basicConstraints cA TRUE)", response.PayloadText, StringComparison.Ordinal);
        Assert.Empty(await est.RequestsAsync());
    }

    private static CoapMessage Post(string operation, byte[] csr) =>
        CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/" + operation).WithPayload(csr).WithContentFormat(CoapContentFormat.Pkcs10);
}
