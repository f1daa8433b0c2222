using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est.Tests;

/// <summary>multipart-core (RFC 8710) and CsrAttrs (RFC 8951 §4) codecs; certs-only is CoapEnroll.Pkix's.</summary>
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
