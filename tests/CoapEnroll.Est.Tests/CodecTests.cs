using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est.Tests;

/// <summary>The CsrAttrs (RFC 8951 §4) codec; multipart-core is MultipartCoreTests', certs-only is CoapEnroll.Pkix's.</summary>
public sealed class CodecTests
{
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
