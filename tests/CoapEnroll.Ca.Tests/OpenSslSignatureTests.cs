using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// Requests openssl makes and verifies (<c>openssl req -verify</c>), as the CA judges them: RSASSA-PSS in every parameter form
/// openssl writes, compressed EC points, SHA-1. Where openssl says the signature holds the CA issues, or refuses the algorithm as
/// unsupported; where it says it does not, the CA refuses the signature. Never the one for the other.
/// </summary>
public sealed class OpenSslSignatureTests : IDisposable
{
    private readonly TempDirectory _directory = new("coapenroll-ca-");

    public void Dispose() => _directory.Dispose();

    /// <summary>Name, openssl key and signing options, and whether the CA verifies it (false: refused as an unsupported algorithm).</summary>
    public static TheoryData<string, string[], bool> Requests => new()
    {
        { "rsa-pss-sha256-salt-digest", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"], true },
        { "rsa-pss-sha384-salt-digest", ["-newkey", "rsa:2048", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"], true },
        { "rsa-pss-sha512-salt-digest", ["-newkey", "rsa:2048", "-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"], true },
        { "rsa-pss-sha256-salt-max", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max"], false },
        { "rsa-pss-sha256-default-salt", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss"], false },
        { "rsa-pss-sha256-salt-20", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20"], false },
        { "rsa-pss-sha256-salt-0", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:0"], false },
        { "rsa-pss-sha256-mgf1-sha1", ["-newkey", "rsa:2048", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest", "-sigopt", "rsa_mgf1_md:sha1"], false },
        { "rsa-pkcs1-sha256", ["-newkey", "rsa:2048", "-sha256"], true },
        { "p256-compressed-sha256", ["-key", "p256-compressed.key", "-sha256"], true },
        { "p384-compressed-sha384", ["-key", "p384-compressed.key", "-sha384"], true },
        { "p256-uncompressed-sha512", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha512"], true },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Our_verdict_matches_openssl_req_verify(string name, string[] options, bool supported)
    {
        await CompressedKeysAsync();
        string csr = await OpenSslCsrAsync(name, options);
        Assert.True(await OpenSslVerifiesAsync(csr), "openssl verifies what it made");
        byte[] der = await File.ReadAllBytesAsync(_directory.File(csr));

        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(der), CancellationToken.None);
        if (supported)
        {
            Assert.True(result.Status == IssuanceStatus.Issued, $"{result.Reason}: {result.Detail}");
        }
        else
        {
            Assert.Equal(IssuanceStatus.Rejected, result.Status);
            Assert.Equal(RejectionReason.UnsupportedAlgorithm, result.Reason);
            Assert.Contains("RSASSA-PSS", result.Detail, StringComparison.Ordinal);
        }

        // The same request with one bit of its signature flipped: openssl says it does not verify, and so do we, unless the
        // algorithm is one we do not verify at all.
        byte[] tampered = der.ToArray();
        tampered[^5] ^= 0x01;
        await File.WriteAllBytesAsync(_directory.File(name + ".tampered.der"), tampered);
        Assert.False(await OpenSslVerifiesAsync(name + ".tampered.der"));
        Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(tampered, out CertificationRequest? request, out _));
        ProofOfPossessionResult proof = request!.ProofOfPossession!.Check();
        Assert.Equal(supported ? RejectionReason.BadSignature : RejectionReason.UnsupportedAlgorithm, proof.Reason);
    }

    [Theory]
    [InlineData("p256-compressed.key", "-sha256")]
    [InlineData("p384-compressed.key", "-sha384")]
    public async Task A_compressed_point_is_certified_uncompressed_as_the_same_key(string key, string hash)
    {
        await CompressedKeysAsync();
        string csr = await OpenSslCsrAsync(key + ".csr", ["-key", key, hash]);
        Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(await File.ReadAllBytesAsync(_directory.File(csr)), out CertificationRequest? request, out _));
        Assert.Contains(request!.PublicKey!.EncodedKeyValue.RawData[0], new byte[] { 0x02, 0x03 });

        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(await File.ReadAllBytesAsync(_directory.File(csr))), CancellationToken.None);
        Assert.True(result.Status == IssuanceStatus.Issued, $"{result.Reason}: {result.Detail}");
        using X509Certificate2 certificate = result.Certificate!;
        await File.WriteAllTextAsync(_directory.File(key + ".pem"), certificate.ExportCertificatePem());

        await OpenSsl.RunAsync(_directory.Path, "ec", "-in", key, "-pubout", "-conv_form", "uncompressed", "-out", key + ".pub");
        string expected = await File.ReadAllTextAsync(_directory.File(key + ".pub"));
        string issued = await OpenSsl.RunAsync(_directory.Path, "x509", "-in", key + ".pem", "-pubkey", "-noout");
        Assert.Equal(PemBody(expected), PemBody(issued));
        Assert.Equal(0x04, certificate.PublicKey.EncodedKeyValue.RawData[0]);
        using ECDsa? publicKey = certificate.GetECDsaPublicKey();
        Assert.NotNull(publicKey);
        await OpenSsl.RunAsync(_directory.Path, "verify", "-CAfile", ca.Hierarchy.Layout.TrustAnchor, "-untrusted", ca.Hierarchy.Layout.IssuingCertificate, key + ".pem");
    }

    [Theory]
    [InlineData("ecdsa", new[] { "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1" })]
    [InlineData("rsa", new[] { "-newkey", "rsa:2048", "-sha1" })]
    [InlineData("rsa-pss", new[] { "-newkey", "rsa:2048", "-sha1", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest" })]
    public async Task SHA_1_signatures_are_refused_unless_the_profile_allows_them(string name, string[] options)
    {
        string csr = await OpenSslCsrAsync("sha1-" + name, options);
        Assert.True(await OpenSslVerifiesAsync(csr));
        byte[] der = await File.ReadAllBytesAsync(_directory.File(csr));
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["default"] = new CertificateProfileOptions(),
            ["legacy"] = new CertificateProfileOptions { AllowSha1Signatures = true },
        });

        IssuanceResult refused = await ca.Authority.IssueAsync(TestCa.Request(der), CancellationToken.None);
        Assert.Equal(RejectionReason.UnsupportedAlgorithm, refused.Reason);
        Assert.Equal("the CSR is signed with SHA-1, which profile 'default' does not accept (Ca:Profiles:default:AllowSha1Signatures)", refused.Detail);
        Assert.Equal(RequestStatus.Rejected, (await ca.Store.GetRequestAsync(refused.RequestId!.Value, CancellationToken.None))!.Status);

        IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(der, profile: "legacy"), CancellationToken.None);
        Assert.True(issued.Status == IssuanceStatus.Issued, $"{issued.Reason}: {issued.Detail}");

        // Allowing SHA-1 does not stop checking it.
        byte[] tampered = der.ToArray();
        tampered[^5] ^= 0x01;
        Assert.Equal(RejectionReason.BadSignature, (await ca.Authority.IssueAsync(TestCa.Request(tampered, profile: "legacy"), CancellationToken.None)).Reason);
    }

    [Fact]
    public void AllowSha1Signatures_defaults_to_false()
    {
        Assert.False(CertificateProfile.FromOptions("p", null).AllowSha1Signatures);
        Assert.True(CertificateProfile.FromOptions("p", new CertificateProfileOptions { AllowSha1Signatures = true }).AllowSha1Signatures);
    }

    private async Task CompressedKeysAsync()
    {
        foreach (var (file, curve) in new[] { ("p256-compressed.key", "prime256v1"), ("p384-compressed.key", "secp384r1") })
        {
            if (!File.Exists(_directory.File(file)))
            {
                await OpenSsl.RunAsync(_directory.Path, "ecparam", "-name", curve, "-genkey", "-noout", "-out", file + ".plain");
                await OpenSsl.RunAsync(_directory.Path, "ec", "-in", file + ".plain", "-conv_form", "compressed", "-out", file);
            }
        }
    }

    private async Task<string> OpenSslCsrAsync(string name, string[] options)
    {
        string csr = name + ".csr.der";
        await OpenSsl.RunAsync(_directory.Path, ["req", "-new", .. options, "-nodes", "-keyout", name + ".new.key", "-subj", "/CN=dev-1", "-outform", "DER", "-out", csr]);
        return csr;
    }

    // openssl 3.0 exits 0 either way: its verdict is in what it prints.
    private async Task<bool> OpenSslVerifiesAsync(string csr)
    {
        string output = await OpenSsl.RunAsync(_directory.Path, "req", "-inform", "DER", "-in", csr, "-verify", "-noout");
        Assert.True(output.Contains("verify OK", StringComparison.Ordinal) || output.Contains("verify failure", StringComparison.Ordinal), output);
        return output.Contains("verify OK", StringComparison.Ordinal);
    }

    private static string PemBody(string pem) => string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
}
