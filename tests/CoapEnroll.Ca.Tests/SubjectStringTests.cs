using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// Directory strings (RFC 5280 §4.1.2.4): what is accepted is copied into the certificate exactly as requested; the refusals
/// (each its own reason and text) are in <see cref="CsrCorpusTests"/>. Also the same rules through
/// <see cref="CertificationRequest.TryCheckTemplate"/>, which front ends run before reading names.
/// </summary>
public sealed class SubjectStringTests
{
    public static TheoryData<string, string, UniversalTagNumber, byte[]> Accepted => new()
    {
        { "every PrintableString character", "2.5.4.10", UniversalTagNumber.PrintableString, "AZaz09 '()+,-./:=?"u8.ToArray() },
        { "UTF-8 beyond ASCII", "2.5.4.10", UniversalTagNumber.UTF8String, "Gerätebau Straße Zürich 東京 🙂"u8.ToArray() },
        { "countryName", "2.5.4.6", UniversalTagNumber.PrintableString, "DE"u8.ToArray() },
        { "serialNumber", "2.5.4.5", UniversalTagNumber.PrintableString, "DEMO-0001"u8.ToArray() },
        { "domainComponent", "0.9.2342.19200300.100.1.25", UniversalTagNumber.IA5String, "example"u8.ToArray() },
        { "emailAddress", "1.2.840.113549.1.9.1", UniversalTagNumber.IA5String, "device@example.com"u8.ToArray() },
        { "an unknown attribute as UTF8String", "1.3.6.1.4.1.55555.7", UniversalTagNumber.UTF8String, "anything"u8.ToArray() },
        { "O of exactly 64 characters", "2.5.4.10", UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(new string('c', 64)) },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public async Task A_valid_string_is_issued_exactly_as_requested(string what, string type, UniversalTagNumber tag, byte[] value)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] subject = Pkcs10Builder.Name((type, tag, value), (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "dev-1"u8.ToArray()));
        byte[] csr = new Pkcs10Builder(key) { Subject = subject }.Build();
        await using TestCa ca = await TestCa.CreateAsync();

        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(csr), CancellationToken.None);

        Assert.True(result.Status == IssuanceStatus.Issued, $"{what}: {result.Reason} {result.Detail}");
        using X509Certificate2 certificate = result.Certificate!;
        Assert.Equal(subject, certificate.SubjectName.RawData);
    }

    [Fact]
    public async Task OUs_and_DCs_may_repeat()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new Pkcs10Builder(key)
        {
            Subject = Pkcs10Builder.Name(
                ("0.9.2342.19200300.100.1.25", UniversalTagNumber.IA5String, "com"u8.ToArray()),
                ("0.9.2342.19200300.100.1.25", UniversalTagNumber.IA5String, "example"u8.ToArray()),
                ("2.5.4.11", UniversalTagNumber.UTF8String, "plant"u8.ToArray()),
                ("2.5.4.11", UniversalTagNumber.UTF8String, "line 4"u8.ToArray()),
                (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "dev-1"u8.ToArray())),
        }.Build();
        await using TestCa ca = await TestCa.CreateAsync();
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(csr), CancellationToken.None)).Status);
    }

    [Fact]
    public void TryCheckTemplate_applies_the_string_rules_without_a_profile()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificationRequest Decode(byte[] subject)
        {
            Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(new Pkcs10Builder(key) { Subject = subject }.Build(), out CertificationRequest? r, out _));
            return r!;
        }

        Assert.True(Decode(Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "dev-1"u8.ToArray()))).TryCheckTemplate(out RejectionReason none, out string? noDetail));
        Assert.Equal(RejectionReason.None, none);
        Assert.Null(noDetail);

        Assert.False(Decode(Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "a\0b"u8.ToArray()))).TryCheckTemplate(out RejectionReason reason, out string? detail));
        Assert.Equal(RejectionReason.SubjectNotAllowed, reason);
        Assert.Equal("subject attribute CN (2.5.4.3) contains the control character U+0000", detail);

        Assert.False(Decode(Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.PrintableString, "a@b"u8.ToArray()))).TryCheckTemplate(out reason, out detail));
        Assert.Equal(RejectionReason.MalformedRequest, reason);
        Assert.StartsWith("subject attribute CN (2.5.4.3) is a PrintableString holding '@' (0x40)", detail, StringComparison.Ordinal);

        Assert.False(Decode(Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.BMPString, "\0a"u8.ToArray()))).TryCheckTemplate(out reason, out detail));
        Assert.Equal(RejectionReason.SubjectNotAllowed, reason);
        Assert.Equal("subject attribute CN (2.5.4.3) is a BMPString: only UTF8String or PrintableString is accepted (RFC 5280 section 4.1.2.4)", detail);
    }

    [Fact]
    public async Task The_allow_list_still_applies_after_the_string_rules()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new Pkcs10Builder(key)
        {
            Subject = Pkcs10Builder.Name(("2.5.4.10", UniversalTagNumber.UTF8String, "Acme"u8.ToArray()), (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "dev-1"u8.ToArray())),
        }.Build();
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["default"] = new CertificateProfileOptions { SubjectPolicy = SubjectPolicy.AllowList, AllowedSubjectAttributes = ["CN"] },
        });
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(csr), CancellationToken.None);
        Assert.Equal(RejectionReason.SubjectNotAllowed, result.Reason);
        Assert.Equal("subject attribute O (2.5.4.10) is not allowed by profile 'default'", result.Detail);
    }
}
