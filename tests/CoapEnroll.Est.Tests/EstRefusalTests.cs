using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// Every refusal has its exact code and issues nothing; once an authenticated client's CSR is in hand, the refusal is also stored
/// as one rejected request with who asked and why, while unauthenticated clients leave nothing in the store.
/// </summary>
public sealed class EstRefusalTests
{
    private static byte[] Csr(string subject = "CN=refused")
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSigningRequest();
    }

    private static CoapMessage Post(string operation, byte[] csr, int? contentFormat = CoapContentFormat.Pkcs10, int? accept = null)
    {
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/" + operation).WithPayload(csr);
        request = contentFormat is { } cf ? request.WithContentFormat(cf) : request;
        return accept is { } a ? request.WithAccept(a) : request;
    }

    private static async Task<CoapMessage> SendAsync(EstFixture est, X509Certificate2? clientCertificate, CoapMessage request)
    {
        await using DtlsClientChannel channel = await est.ConnectAsync(clientCertificate);
        await using var coap = new CoapClient(channel);
        return await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("sren")]
    [InlineData("skg")]
    [InlineData("att")]
    public async Task Anonymous_dtls_client_is_4_01(string operation)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage request = operation == "att" ? CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/att") : Post(operation, Csr());
        CoapMessage response = await SendAsync(est, null, request);
        Assert.Equal(CoapCode.Unauthorized, response.Code);
        Assert.Empty(await est.CertificatesAsync());
        Assert.Empty(await est.RequestsAsync());
    }

    [Fact]
    public async Task Anonymous_and_untrusted_dtls_clients_get_crts_unless_the_profile_requires_a_client_certificate()
    {
        // RFC 7030 §4.1.1: the server SHOULD NOT require client authentication for the CA certificates.
        await using EstFixture est = await EstFixture.StartAsync(o => o.RequireClientCertificateForCrts["lbl"] = "true");
        CoapMessage crts = CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts");
        foreach (X509Certificate2? client in (X509Certificate2?[])[null, CreateSelfSignedWithKey(), est.Device])
        {
            CoapMessage response = await SendAsync(est, client, crts);
            Assert.Equal((CoapCode.Content, CoapContentFormat.Pkcs7CertsOnly), (response.Code, response.ContentFormat));
            Assert.Equal(2, Pkcs7CertsOnly.Decode(response.Payload.Span).Count);
        }

        CoapMessage anchor = await SendAsync(est, null, CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts").WithAccept(CoapContentFormat.PkixCert));
        Assert.Equal(est.Hierarchy.TrustAnchor.RawData, anchor.Payload.ToArray());

        // The profile that requires one: 4.01 without, the CA certificates with the device's.
        CoapMessage labelled = CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/lbl/crts");
        CoapMessage refused = await SendAsync(est, null, labelled);
        Assert.Equal(CoapCode.Unauthorized, refused.Code);
        Assert.Contains("client certificate", refused.PayloadText, StringComparison.Ordinal);
        Assert.Equal(CoapCode.Content, (await SendAsync(est, est.Device, labelled)).Code);

        // Over plain CoAP nothing is authenticated, not even the server: still 4.01.
        await using var coap = new CoapClient(UdpDatagramChannel.BindEphemeralFor(est.UdpEndPoint));
        Assert.Equal(CoapCode.Unauthorized, (await coap.SendAsync(crts, est.UdpEndPoint, EstFixture.Timeout())).Code);
        Assert.Empty(await est.RequestsAsync());
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("sren")]
    [InlineData("skg")]
    public async Task Empty_request_is_4_00_empty_request(string operation)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendAsync(est, est.Device, Post(operation, []));
        Assert.Equal((CoapCode.BadRequest, EstCsr.EmptyRequest), (response.Code, response.PayloadText));
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Plain_udp_is_4_01()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var coap = new CoapClient(UdpDatagramChannel.BindEphemeralFor(est.UdpEndPoint));
        CoapMessage response = await coap.SendAsync(Post("sen", Csr()), est.UdpEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Unauthorized, response.Code);
        Assert.Contains("DTLS", response.PayloadText);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Untrusted_device_certificate_is_4_03()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        X509Certificate2 intruderWithKey = CreateSelfSignedWithKey();
        CoapMessage response = await SendAsync(est, intruderWithKey, Post("sen", Csr()));
        Assert.Equal(CoapCode.Forbidden, response.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    private static X509Certificate2 CreateSelfSignedWithKey()
    {
        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=intruder", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public async Task Tampered_csr_is_4_00_with_a_diagnostic()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        byte[] csr = Csr("CN=tamper");
        int at = csr.AsSpan().IndexOf("tamper"u8);
        csr[at] ^= 0x20; // "Tamper": the signature no longer covers the content
        CoapMessage response = await SendAsync(est, est.Device, Post("sen", csr));
        Assert.Equal(CoapCode.BadRequest, response.Code);
        Assert.Contains("signature", response.PayloadText);

        CoapMessage garbage = await SendAsync(est, est.Device, Post("sen", [0x30, 0x03, 0x02, 0x01, 0x00]));
        Assert.Equal(CoapCode.BadRequest, garbage.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Sren_with_a_different_subject_or_with_a_manufacturer_certificate_is_4_03()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        X509Certificate2 issued;
        await using (EstCoapsClient client = await est.ClientAsync())
        {
            issued = await client.EnrollAsync(new X500DistinguishedName("CN=renew-me"), cancellationToken: EstFixture.Timeout());
        }

        await using (EstCoapsClient renew = await est.ClientAsync(issued))
        {
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => renew.ReenrollAsync(new X500DistinguishedName("CN=someone-else"), cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
            Assert.Contains("subject", ex.Diagnostic);
        }

        await using (EstCoapsClient idevid = await est.ClientAsync())
        {
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => idevid.ReenrollAsync(est.Device.SubjectName, cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
        }

        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Pop_link_mismatch_is_4_03_and_a_missing_link_when_required_too()
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.RequirePopLinking = true);
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] wrong = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToBase64String(new byte[12]))), linkProofOfPossession: false);
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(wrong, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, ex.Code);
        Assert.Contains("tls-unique", ex.Diagnostic);

        // The raw tls-unique instead of its base64 form (RFC 7030 §3.5) is also a mismatch.
        byte[] raw = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToHexString(client.Session.TlsUnique))), linkProofOfPossession: false);
        Assert.Equal(CoapCode.Forbidden, (await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(raw, cancellationToken: EstFixture.Timeout()))).Code);

        byte[] unlinked = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, linkProofOfPossession: false);
        ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(unlinked, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, ex.Code);
        Assert.Contains("required", ex.Diagnostic);
        Assert.Empty(await est.CertificatesAsync());

        // A CSR linked to another session is refused in this one.
        await using EstCoapsClient other = await est.ClientAsync();
        byte[] foreign = other.CreateCsr(new X500DistinguishedName("CN=pop"), key);
        Assert.Equal(CoapCode.Forbidden, (await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(foreign, cancellationToken: EstFixture.Timeout()))).Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Theory]
    [InlineData("sen", 60)]
    [InlineData("sren", 0)]
    [InlineData("skg", null)]
    [InlineData("skc", 42)]
    public async Task Wrong_content_format_is_4_15(string operation, int? contentFormat)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendAsync(est, est.Device, Post(operation, Csr(), contentFormat));
        Assert.Equal(CoapCode.UnsupportedContentFormat, response.Code);
        Assert.Empty(await est.CertificatesAsync());
        Assert.Empty(await est.RequestsAsync());
    }

    [Theory]
    [InlineData("sen", 50)]
    [InlineData("sen", 62)]
    [InlineData("skg", 281)]
    [InlineData("crts", 0)]
    [InlineData("att", 281)]
    public async Task Wrong_accept_is_4_06(string operation, int accept)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage request = operation is "crts" or "att"
            ? CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/" + operation).WithAccept(accept)
            : Post(operation, Csr(), accept: accept);
        CoapMessage response = await SendAsync(est, est.Device, request);
        Assert.Equal(CoapCode.NotAcceptable, response.Code);
        Assert.Empty(await est.CertificatesAsync());
        Assert.Empty(await est.RequestsAsync());
    }

    [Fact]
    public async Task Untrusted_self_signed_client_leaves_no_request_in_the_store()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage untrusted = await SendAsync(est, CreateSelfSignedWithKey(), Post("sen", Csr()));
        CoapMessage anonymous = await SendAsync(est, null, Post("sen", Csr()));
        CoapMessage garbageFromIntruder = await SendAsync(est, CreateSelfSignedWithKey(), Post("sen", [0x30, 0x03, 0x02, 0x01, 0x00]));

        Assert.Equal((CoapCode.Forbidden, CoapCode.Unauthorized, CoapCode.Forbidden), (untrusted.Code, anonymous.Code, garbageFromIntruder.Code));
        Assert.Empty(await est.RequestsAsync());
        Assert.DoesNotContain(await est.Store.ListAuditAsync(100, CancellationToken.None), a => a.Action == "rejected-request");
    }

    [Fact]
    public async Task Oversized_csr_is_4_13_and_not_stored()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(Post("sen", new byte[IssuanceRequest.MaxCsrLength + 1]), channel.RemoteEndPoint, EstFixture.Timeout(60));
        Assert.Equal(CoapCode.RequestEntityTooLarge, response.Code);
        Assert.Empty(await est.RequestsAsync());
    }

    [Fact]
    public async Task Malformed_and_tampered_csrs_each_leave_one_rejected_request()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        byte[] garbage = [0x30, 0x03, 0x02, 0x01, 0x00];
        CoapMessage malformed = await SendAsync(est, est.Device, Post("sen", garbage));
        Assert.Equal(CoapCode.BadRequest, malformed.Code);
        Assert.StartsWith("the PKCS#10 request cannot be decoded", malformed.PayloadText, StringComparison.Ordinal);

        StoredRequest row = Assert.Single(await est.RequestsAsync());
        AssertRejected(row, est.Device, RejectionReason.MalformedRequest, "/sen: " + malformed.PayloadText);
        Assert.Equal(garbage, row.CsrDer);

        byte[] tampered = Csr("CN=tamper");
        tampered[tampered.AsSpan().IndexOf("tamper"u8)] ^= 0x20;
        CoapMessage badSignature = await SendAsync(est, est.Device, Post("sren", tampered));
        Assert.Equal(CoapCode.BadRequest, badSignature.Code);
        Assert.Equal("the PKCS#10 signature does not verify", badSignature.PayloadText);

        IReadOnlyList<StoredRequest> rows = await est.RequestsAsync();
        Assert.Equal(2, rows.Count);
        AssertRejected(rows[0], est.Device, RejectionReason.BadSignature, "/sren: the PKCS#10 signature does not verify");
        Assert.Equal(tampered, rows[0].CsrDer);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Pop_link_mismatch_and_missing_link_each_leave_one_rejected_request()
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.RequirePopLinking = true);
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] wrong = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToBase64String(new byte[12]))), linkProofOfPossession: false);
        var mismatch = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(wrong, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, mismatch.Code);
        Assert.Equal("the challengePassword does not match the tls-unique value of this DTLS session (RFC 7030 section 3.5)", mismatch.Diagnostic);

        StoredRequest row = Assert.Single(await est.RequestsAsync());
        AssertRejected(row, est.Device, RejectionReason.NotAuthorized, "/sen: " + mismatch.Diagnostic);
        Assert.Equal(wrong, row.CsrDer);

        byte[] unlinked = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, linkProofOfPossession: false);
        var missing = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(unlinked, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, missing.Code);
        IReadOnlyList<StoredRequest> rows = await est.RequestsAsync();
        Assert.Equal(2, rows.Count);
        AssertRejected(rows[0], est.Device, RejectionReason.NotAuthorized, "/sen: " + missing.Diagnostic);
        Assert.Equal(unlinked, rows[0].CsrDer);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Sren_with_a_different_subject_leaves_one_rejected_request_naming_the_certificate_being_renewed()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        X509Certificate2 issued;
        await using (EstCoapsClient client = await est.ClientAsync())
        {
            issued = await client.EnrollAsync(new X500DistinguishedName("CN=renew-me"), cancellationToken: EstFixture.Timeout());
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using (EstCoapsClient renew = await est.ClientAsync(issued))
        {
            byte[] csr = renew.CreateCsr(new X500DistinguishedName("CN=someone-else"), key);
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => renew.ReenrollAsync(csr, cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
            Assert.Equal("the CSR subject differs from the certificate being renewed (RFC 7030 section 4.2.2)", ex.Diagnostic);

            StoredRequest row = Assert.Single(await est.RequestsAsync(), r => r.Status == RequestStatus.Rejected);
            AssertRejected(row, issued, RejectionReason.NotAuthorized, "/sren: " + ex.Diagnostic);
            Assert.Equal(csr, row.CsrDer);
            Assert.Equal(issued.SerialNumber, row.ReplacesSerialNumber);
        }

        // An IDevID is no certificate of this CA: refused for re-enrollment, stored without a replaced serial.
        await using (EstCoapsClient idevid = await est.ClientAsync())
        {
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => idevid.ReenrollAsync(est.Device.SubjectName, cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
            StoredRequest row = (await est.RequestsAsync())[0];
            AssertRejected(row, est.Device, RejectionReason.NotAuthorized, "/sren: re-enrollment needs a current certificate issued by this CA");
            Assert.Null(row.ReplacesSerialNumber);
        }

        Assert.Equal([RequestStatus.Rejected, RequestStatus.Rejected, RequestStatus.Issued], (await est.RequestsAsync()).Select(r => r.Status));
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Unservable_key_encryption_leaves_one_unsatisfiable_request()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.ServerKeyGenAsync(new X500DistinguishedName("CN=sealed"),
            new EstSymmetricKey(new byte[] { 0x0A, 0x0B }, new byte[32]), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.BadRequest, ex.Code);
        Assert.Equal("no symmetric key matches the DecryptKeyIdentifier (RFC 7030 section 4.4.1.1)", ex.Diagnostic);

        StoredRequest row = Assert.Single(await est.RequestsAsync());
        AssertRejected(row, est.Device, RejectionReason.UnsatisfiableRequest, "/skg: " + ex.Diagnostic);
        Assert.Null(row.OverridePublicKey);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task A_ca_policy_refusal_through_est_is_stored_once_under_the_label_profile()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        byte[] csr = Csr("CN=needs-rsa");
        CoapMessage response = await SendAsync(est, est.Device, CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/enc/sen").WithPayload(csr).WithContentFormat(CoapContentFormat.Pkcs10));
        Assert.Equal(CoapCode.BadRequest, response.Code);

        StoredRequest row = Assert.Single(await est.RequestsAsync());
        Assert.Equal(RejectionReason.UnsupportedKeyType, row.RejectionReason);
        Assert.Equal(response.PayloadText, row.ReasonDetail);
        Assert.Equal("enc", row.Profile);
        Assert.Equal(EstFixture.RequesterOf(est.Device), row.Requester);
        Assert.Equal(csr, row.CsrDer);
    }

    private static void AssertRejected(StoredRequest row, X509Certificate2 client, RejectionReason reason, string detail)
    {
        Assert.Equal(RequestStatus.Rejected, row.Status);
        Assert.Equal(reason, row.RejectionReason);
        Assert.Equal(detail, row.ReasonDetail);
        Assert.Equal(EstFixture.RequesterOf(client), row.Requester);
        Assert.Equal("est-coaps", row.Protocol);
        Assert.Equal("default", row.Profile);
        Assert.Null(row.RequestKey);
        Assert.Null(row.IssuedSerialNumber);
    }

    [Fact]
    public async Task Wrong_method_is_4_05()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendAsync(est, est.Device, CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/sen"));
        Assert.Equal(CoapCode.MethodNotAllowed, response.Code);
    }
}
