using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>One <c>coapenroll serve</c> host (in-process, ephemeral ports) shared by the libcoap EST interop tests.</summary>
public class EstServerFixture : IAsyncLifetime
{
    private EstServer? _server;

    public EstServer Server => _server ?? throw new InvalidOperationException("Not started.");

    // Label "kex" issues key agreement certificates: the recipients of encrypted server-generated keys (RFC 7030 §4.4.1.2).
    // These tests name each certificate after the test and the library (CN=dev-openssl-16, CN=leaf-only-gnutls, …) to tell
    // them apart on one server, all requested by the demo device: the default profile issues any name on purpose. The name rules
    // against the shipped default profile are LibCoapEstNameTests'.
    public async Task InitializeAsync() => _server = await StartAsync(new Dictionary<string, string?>
    {
        ["Ca:Profiles:kex:KeyUsage:0"] = "KeyAgreement",
        ["Ca:Profiles:default:NamePolicy"] = "AnyName",
    });

    /// <summary>Starts the server with <paramref name="settings"/>; the CA keys are PEM files.</summary>
    protected virtual Task<EstServer> StartAsync(IDictionary<string, string?> settings) => EstServer.StartAsync(settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// libcoap's DTLS clients (<c>coap-client-openssl</c> and <c>coap-client-gnutls</c> 4.3.1, two independent DTLS stacks) do
/// every EST-coaps operation (RFC 9148) against the server <c>coapenroll serve</c> runs; openssl checks what comes back. Run
/// against the CA with PEM keys (<see cref="LibCoapEstInteropTests"/>) and with its issuing key on a PKCS#11 token
/// (<see cref="LibCoapEstInteropPkcs11Tests"/>).
/// </summary>
public abstract class LibCoapEstInteropSuite<TFixture> : IClassFixture<TFixture>, IDisposable
    where TFixture : EstServerFixture
{
    private readonly EstServer _server;
    private readonly string _scratch = EstTools.Scratch();

    protected LibCoapEstInteropSuite(TFixture fixture)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        _server = fixture.Server;
    }

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

    [Theory]
    [InlineData("openssl", 16)]
    [InlineData("openssl", 64)]
    [InlineData("gnutls", 16)]
    [InlineData("gnutls", 64)]
    public async Task Crts_ReturnsCertsOnlyWithRootAndIssuingCa(string library, int blockSize)
    {
        string output = Path.Combine(_scratch, "crts.p7");

        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "get", "-A", "281", "-b", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", _server.DemoCertificate, "-j", _server.DemoKey, "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/crts"));

        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        string certs = await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs");
        Assert.Contains("CoapEnroll Demo Root CA", certs);
        Assert.Contains("CoapEnroll Demo Issuing CA", certs);
    }

    [Theory]
    [InlineData("openssl", 16)]
    [InlineData("openssl", 64)]
    [InlineData("gnutls", 16)]
    [InlineData("gnutls", 64)]
    public async Task Sen_WithDemoDevice_IssuesCertificateForTheCsrKey(string library, int blockSize)
    {
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "dev", $"/CN=dev-{library}-{blockSize}");
        int before = await _server.CertificateCountAsync();

        string issued = await PostCsrAsync(library, blockSize, "sen", csr, _server.DemoCertificate, _server.DemoKey);

        Assert.Contains($"CN = dev-{library}-{blockSize}", await EstTools.OpenSslAsync("x509", "-in", issued, "-noout", "-subject"));
        await AssertVerifiesAndCertifiesAsync(issued, csr);
        Assert.Equal(before + 1, await _server.CertificateCountAsync());
    }

    [Theory]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Sren_WithIssuedCertificate_IssuesNewCertificateSameSubject(string library)
    {
        string subject = $"/CN=renew-{library}";
        var (firstKey, firstCsr) = await EstTools.NewCsrAsync(_scratch, "first", subject);
        string first = await PostCsrAsync(library, 64, "sen", firstCsr, _server.DemoCertificate, _server.DemoKey);
        var (_, secondCsr) = await EstTools.NewCsrAsync(_scratch, "second", subject);

        string second = await PostCsrAsync(library, 64, "sren", secondCsr, first, firstKey);

        Assert.Contains($"CN = renew-{library}", await EstTools.OpenSslAsync("x509", "-in", second, "-noout", "-subject"));
        await AssertVerifiesAndCertifiesAsync(second, secondCsr);
        Assert.NotEqual(await EstTools.OpenSslAsync("x509", "-in", first, "-noout", "-serial"), await EstTools.OpenSslAsync("x509", "-in", second, "-noout", "-serial"));
    }

    [Theory]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task IssuedLeafAlone_IsAValidatedCertificateAtTheDtlsLayer(string library)
    {
        var (key, csr) = await EstTools.NewCsrAsync(_scratch, "leaf", $"/CN=leaf-only-{library}");
        string leaf = await PostCsrAsync(library, 64, "sen", csr, _server.DemoCertificate, _server.DemoKey);

        // The PEM holds the issued certificate only (no issuing CA), as `coapenroll est enroll --out` writes it.
        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "get", "-c", leaf, "-j", key, "-R", _server.TrustAnchor, _server.Uri("/whoami"));

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.True(result.StandardOutput.Contains("authentication: certificate", StringComparison.Ordinal), result.Describe());
        Assert.True(result.StandardOutput.Contains($"subject: CN=leaf-only-{library}", StringComparison.Ordinal), result.Describe());
    }

    [Theory]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Att_ReturnsCsrAttrsDer(string library)
    {
        string output = Path.Combine(_scratch, "att.der");

        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "get", "-A", "285", "-b", "64",
            "-c", _server.DemoCertificate, "-j", _server.DemoKey, "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/att"));

        Assert.True(result.ExitCode == 0 && File.Exists(output) && new FileInfo(output).Length > 0, result.Describe());
        string asn1 = await EstTools.OpenSslAsync("asn1parse", "-inform", "DER", "-in", output);
        Assert.StartsWith("    0:d=0", asn1.Split('\n')[0]);
        Assert.Contains("SEQUENCE", asn1);
        Assert.Contains("challengePassword", asn1);
    }

    [Theory]
    [InlineData("openssl", "skg", 281)]
    [InlineData("gnutls", "skg", 281)]
    [InlineData("openssl", "skc", 287)]
    [InlineData("gnutls", "skc", 287)]
    public async Task ServerKeyGen_ReturnsPkcs8KeyAndMatchingCertificate(string library, string operation, int certificateFormat)
    {
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "skg", $"/CN={operation}-{library}");
        string output = Path.Combine(_scratch, operation + ".cbor");
        int before = await _server.CertificateCountAsync();

        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "post", "-t", "286", "-f", csr, "-b", "64",
            "-c", _server.DemoCertificate, "-j", _server.DemoKey, "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/" + operation));

        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        var parts = EstTools.DecodeMultipartCore(await File.ReadAllBytesAsync(output));
        Assert.Equal([284, certificateFormat], parts.Select(p => p.ContentFormat));
        string keyFile = Path.Combine(_scratch, operation + ".key.der");
        string certFile = Path.Combine(_scratch, operation + ".cert.der");
        await File.WriteAllBytesAsync(keyFile, parts[0].Data);
        await File.WriteAllBytesAsync(certFile, parts[1].Data);
        string keyPublic = await EstTools.OpenSslAsync("pkey", "-inform", "DER", "-in", keyFile, "-pubout");
        string certPem = Path.Combine(_scratch, operation + ".cert.pem");
        if (certificateFormat == 281)
        {
            await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", certFile, "-print_certs", "-out", certPem);
        }
        else
        {
            await EstTools.OpenSslAsync("x509", "-inform", "DER", "-in", certFile, "-out", certPem);
        }

        Assert.Equal(keyPublic, await EstTools.OpenSslAsync("x509", "-in", certPem, "-pubkey", "-noout"));
        Assert.Contains($"CN = {operation}-{library}", await EstTools.OpenSslAsync("x509", "-in", certPem, "-noout", "-subject"));
        Assert.Equal(before + 1, await _server.CertificateCountAsync());
    }

    [Theory]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task ServerKeyGen_EncryptedToAnEcKey_OpensWithOpenSslCms(string library)
    {
        // 1. The device (demo IDevID) enrolls a P-256 key agreement certificate under label "kex"; openssl makes the key.
        string kexKey = Path.Combine(_scratch, "kex.key");
        await EstTools.OpenSslAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", kexKey);
        using var device = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(_server.DemoCertificate));
        using var kexEc = System.Security.Cryptography.ECDsa.Create();
        kexEc.ImportFromPem(File.ReadAllText(kexKey));
        string kexCsr = Path.Combine(_scratch, "kex.csr.der");
        await File.WriteAllBytesAsync(kexCsr, new System.Security.Cryptography.X509Certificates.CertificateRequest(device.SubjectName, kexEc,
            System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSigningRequest());
        string kexDer = Path.Combine(_scratch, "kex.der");
        ProcessResult enrolled = await EstTools.CoapClientAsync(library, "-m", "post", "-t", "286", "-A", "287", "-f", kexCsr, "-c", _server.DemoCertificate,
            "-j", _server.DemoKey, "-R", _server.TrustAnchor, "-o", kexDer, _server.Uri("/.well-known/est/kex/sen"));
        Assert.True(enrolled.ExitCode == 0 && File.Exists(kexDer), enrolled.Describe());
        string kexPem = Path.Combine(_scratch, "kex.pem");
        await EstTools.OpenSslAsync("x509", "-inform", "DER", "-in", kexDer, "-out", kexPem);
        Assert.Contains("Key Agreement", await EstTools.OpenSslAsync("x509", "-in", kexPem, "-noout", "-ext", "keyUsage"));

        // 2. /skg with a CSR naming that certificate (AsymmetricDecryptKeyIdentifier, SMIMECapabilities with ECDH).
        using var throwaway = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var skgRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest($"CN=sealed-{library}", throwaway, System.Security.Cryptography.HashAlgorithmName.SHA256);
        CoapEnroll.Est.EstCoapsClient.AddEncryptionRequest(skgRequest, System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(File.ReadAllBytes(kexDer)));
        string skgCsr = Path.Combine(_scratch, "sealed.csr.der");
        await File.WriteAllBytesAsync(skgCsr, skgRequest.CreateSigningRequest());
        string output = Path.Combine(_scratch, "sealed.cbor");
        int before = await _server.CertificateCountAsync();
        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "post", "-t", "286", "-f", skgCsr, "-b", "64", "-c", _server.DemoCertificate,
            "-j", _server.DemoKey, "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/skg"));
        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        var parts = EstTools.DecodeMultipartCore(await File.ReadAllBytesAsync(output));
        Assert.Equal([280, 281], parts.Select(p => p.ContentFormat));
        Assert.Equal(before + 1, await _server.CertificateCountAsync());

        // 3. openssl opens the EnvelopedData with the key agreement key, then verifies the key generator's SignedData against
        //    the trust anchor alone (the SignedData carries the issuing CA).
        string enveloped = Path.Combine(_scratch, "sealed.p7m");
        string signedData = Path.Combine(_scratch, "sealed.signed.der");
        string package = Path.Combine(_scratch, "sealed.package.der");
        await File.WriteAllBytesAsync(enveloped, parts[0].Data);
        await EstTools.OpenSslAsync("cms", "-decrypt", "-inform", "DER", "-in", enveloped, "-recip", kexPem, "-inkey", kexKey, "-binary", "-out", signedData);
        await EstTools.OpenSslAsync("cms", "-verify", "-inform", "DER", "-in", signedData, "-CAfile", _server.TrustAnchor, "-purpose", "any", "-binary", "-out", package);
        Assert.Contains("2.16.840.1.101.2.1.2.78.5", await EstTools.OpenSslAsync("cms", "-cmsout", "-print", "-inform", "DER", "-in", signedData));

        // 4. The AsymmetricKeyPackage holds one PKCS#8 key, the key of the issued certificate.
        var reader = new System.Formats.Asn1.AsnReader(await File.ReadAllBytesAsync(package), System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        string keyFile = Path.Combine(_scratch, "sealed.key.der");
        await File.WriteAllBytesAsync(keyFile, reader.ReadEncodedValue().ToArray());
        Assert.False(reader.HasData);
        string certFile = Path.Combine(_scratch, "sealed.p7b");
        string certPem = Path.Combine(_scratch, "sealed.pem");
        await File.WriteAllBytesAsync(certFile, parts[1].Data);
        await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", certFile, "-print_certs", "-out", certPem);
        Assert.Equal(await EstTools.OpenSslAsync("pkey", "-inform", "DER", "-in", keyFile, "-pubout"), await EstTools.OpenSslAsync("x509", "-in", certPem, "-pubkey", "-noout"));
        Assert.Contains($"CN = sealed-{library}", await EstTools.OpenSslAsync("x509", "-in", certPem, "-noout", "-subject"));
    }

    [Fact]
    public async Task Sen_Anonymous_Gets401AndNothingIssued()
    {
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "anon", "/CN=anon");
        int before = await _server.CertificateCountAsync();

        ProcessResult result = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-R", _server.TrustAnchor, _server.Uri("/.well-known/est/sen"));

        Assert.True(result.StandardOutput.Contains("4.01", StringComparison.Ordinal) || result.StandardError.Contains("4.01", StringComparison.Ordinal), result.Describe());
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task Sen_UntrustedSelfSignedDevice_Gets403AndNothingIssued()
    {
        string key = Path.Combine(_scratch, "intruder.key");
        string cert = Path.Combine(_scratch, "intruder.pem");
        await EstTools.OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=intruder", "-days", "2");
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "intruder-csr", "/CN=intruder");
        int before = await _server.CertificateCountAsync();

        ProcessResult result = await EstTools.CoapClientAsync("gnutls", "-m", "post", "-t", "286", "-f", csr, "-c", cert, "-j", key, "-R", _server.TrustAnchor,
            _server.Uri("/.well-known/est/sen"));

        Assert.True(result.StandardOutput.Contains("4.03", StringComparison.Ordinal) || result.StandardError.Contains("4.03", StringComparison.Ordinal), result.Describe());
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task Sen_WrongContentFormat_Gets415AndNothingIssued()
    {
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "ct", "/CN=wrong-ct");
        int before = await _server.CertificateCountAsync();

        ProcessResult result = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "0", "-f", csr, "-c", _server.DemoCertificate, "-j", _server.DemoKey,
            "-R", _server.TrustAnchor, _server.Uri("/.well-known/est/sen"));

        Assert.True(result.StandardOutput.Contains("4.15", StringComparison.Ordinal) || result.StandardError.Contains("4.15", StringComparison.Ordinal), result.Describe());
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task Crts_WrongAccept_Gets406AndNothingIssued()
    {
        int before = await _server.CertificateCountAsync();

        ProcessResult result = await EstTools.CoapClientAsync("gnutls", "-m", "get", "-A", "50", "-c", _server.DemoCertificate, "-j", _server.DemoKey,
            "-R", _server.TrustAnchor, _server.Uri("/.well-known/est/crts"));

        Assert.True(result.StandardOutput.Contains("4.06", StringComparison.Ordinal) || result.StandardError.Contains("4.06", StringComparison.Ordinal), result.Describe());
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    /// <summary>POSTs the DER CSR with libcoap and returns the issued certificate as PEM (from the certs-only answer).</summary>
    private async Task<string> PostCsrAsync(string library, int blockSize, string operation, string csr, string cert, string key)
    {
        string output = Path.Combine(_scratch, $"{operation}-{Guid.NewGuid():N}.p7");
        ProcessResult result = await EstTools.CoapClientAsync(library, "-m", "post", "-t", "286", "-f", csr, "-b", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", cert, "-j", key, "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/" + operation));
        Assert.True(result.ExitCode == 0 && File.Exists(output) && new FileInfo(output).Length > 0, result.Describe());
        string pem = Path.ChangeExtension(output, ".pem");
        string printed = await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs", "-out", pem);
        Assert.Single(File.ReadAllText(pem).Split("BEGIN CERTIFICATE").Skip(1));
        return pem;
    }

    private async Task AssertVerifiesAndCertifiesAsync(string issuedPem, string csrDer)
    {
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", _server.TrustAnchor, "-untrusted", _server.IssuingCa, issuedPem));
        Assert.Equal(
            await EstTools.OpenSslAsync("req", "-inform", "DER", "-in", csrDer, "-pubkey", "-noout"),
            await EstTools.OpenSslAsync("x509", "-in", issuedPem, "-pubkey", "-noout"));
    }
}
