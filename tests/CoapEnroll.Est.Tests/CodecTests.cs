using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est.Tests;

/// <summary>multipart-core (RFC 8710), certs-only (RFC 5272 §4.1) and CsrAttrs (RFC 8951 §4) codecs.</summary>
public sealed class CodecTests
{
    [Fact]
    public void Multipart_core_matches_rfc_9148_figure_2()
    {
        byte[] encoded = MultipartCore.Encode([new(284, Convert.FromHexString("0123456789ABCDEF")), new(281, Convert.FromHexString("FEDCBA9876543210"))]);
        Assert.Equal("8419011C480123456789ABCDEF19011948FEDCBA9876543210", Convert.ToHexString(encoded));
        Assert.True(MultipartCore.TryDecode(encoded, out var parts, out _));
        Assert.Equal([284, 281], parts.Select(p => p.ContentFormat));
        Assert.Equal(Convert.FromHexString("FEDCBA9876543210"), parts[1].Data.ToArray());
    }

    [Theory]
    [InlineData("83011C40")]                 // odd number of items
    [InlineData("8219011C4901")]             // byte string longer than the input
    [InlineData("8219011C40FF")]             // trailing data
    [InlineData("9F19011C40FF")]             // indefinite-length array
    [InlineData("82181740")]                 // 23 in a one-byte argument: not shortest form
    [InlineData("821A0001000040")]           // Content-Format beyond 16 bits
    [InlineData("8219011C60")]               // text string instead of byte string
    [InlineData("8219011CF6")]               // null representation
    [InlineData("A0")]                       // map
    [InlineData("")]                         // empty
    [InlineData("825B00000000FFFFFFFF40")]   // 64-bit length
    public void Multipart_core_rejects_malformed_input(string hex)
    {
        Assert.False(MultipartCore.TryDecode(Convert.FromHexString(hex), out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public async Task Certs_only_round_trips_and_openssl_reads_it()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 a = new CertificateRequest("CN=a", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        X509Certificate2 b = new CertificateRequest("CN=b", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        byte[] der = Pkcs7CertsOnly.Encode([a, b]);
        Assert.Equal(new[] { a.Thumbprint, b.Thumbprint }.Order(), Pkcs7CertsOnly.Decode(der).Select(c => c.Thumbprint).Order());

        string dir = Directory.CreateTempSubdirectory("coapenroll-est-codec-").FullName;
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(dir, "c.p7"), der);
            string printed = await OpenSsl.RunAsync(dir, "pkcs7", "-inform", "DER", "-in", "c.p7", "-print_certs");
            Assert.Contains("subject=CN = a", printed);
            Assert.Contains("subject=CN = b", printed);
        }
        finally
        {
            Directory.Delete(dir, true);
        }

        Assert.Throws<CryptographicException>(() => Pkcs7CertsOnly.Decode([.. der, 0]));
    }

    [Fact]
    public void Csr_attributes_encode_the_rfc_8951_example()
    {
        byte[] macAddress = EstCsrAttributes.EncodeOid("1.3.6.1.1.1.1.22");
        byte[] der = EstCsrAttributes.Encode(
        [
            new("1.2.840.113549.1.9.7"),
            new("1.2.840.10045.2.1", [EstCsrAttributes.EncodeOid("1.3.132.0.34")]),
            new("1.2.840.113549.1.9.14", [macAddress]),
            new("1.2.840.10045.4.3.3"),
        ]);
        Assert.Equal(Convert.FromBase64String("MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJBgcrBgEBAQEWBggqhkjOPQQDAw=="), der);
        Assert.Equal(4, EstCsrAttributes.Decode(der).Count);
    }
}
