using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;
using CoapEnroll.Testing;

namespace CoapEnroll.Hosting.Tests;

public sealed class BootstrapTests
{
    [Fact]
    public async Task First_start_creates_every_file_and_a_restart_loads_the_same_certificates()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        CaDataLayout layout = ca.Hierarchy.Layout;
        foreach (string file in new[] { layout.TrustAnchor, layout.RootKey, layout.IssuingCertificate, layout.IssuingKey, layout.ServerCertificate, layout.ServerKey,
                     layout.ManufacturerCaCertificate, layout.ManufacturerCaKey, layout.DemoDeviceCertificate, layout.DemoDeviceKey, layout.Database })
        {
            Assert.True(File.Exists(file), file);
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (string key in new[] { layout.RootKey, layout.IssuingKey, layout.ServerKey, layout.ManufacturerCaKey, layout.DemoDeviceKey })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(layout.CaDirectory));
        }

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(layout.IssuingKey));
        Assert.Empty(Directory.GetFiles(ca.Directory.Path, "*.tmp", SearchOption.AllDirectories));

        string[] before = [ca.Hierarchy.TrustAnchor.Thumbprint, ca.Hierarchy.IssuingCa.Thumbprint, ca.ServerCredential.Certificate.Thumbprint, ca.Hierarchy.TrustedManufacturerCas[0].Thumbprint];
        await ca.RestartAsync();
        string[] after = [ca.Hierarchy.TrustAnchor.Thumbprint, ca.Hierarchy.IssuingCa.Thumbprint, ca.ServerCredential.Certificate.Thumbprint, ca.Hierarchy.TrustedManufacturerCas[0].Thumbprint];
        Assert.Equal(before, after);
        Assert.True(ca.Hierarchy.IssuingCa.HasPrivateKey);
        Assert.True(ca.ServerCredential.Certificate.HasPrivateKey);
    }

    [Fact]
    public async Task CA_certificates_carry_the_RFC_5280_extensions()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        X509Certificate2 root = ca.Hierarchy.TrustAnchor;
        X509Certificate2 issuing = ca.Hierarchy.IssuingCa;

        var rootConstraints = root.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(rootConstraints.CertificateAuthority && rootConstraints.Critical);
        var issuingConstraints = issuing.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(issuingConstraints.CertificateAuthority && issuingConstraints.HasPathLengthConstraint);
        Assert.Equal(0, issuingConstraints.PathLengthConstraint);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, issuing.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);

        string rootSki = root.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier!;
        var issuingAki = issuing.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single();
        Assert.Equal(rootSki, Convert.ToHexString(issuingAki.KeyIdentifier!.Value.Span));
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, issuing.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value);
    }

    [Fact]
    public async Task Openssl_verifies_the_server_and_device_chains_and_shows_the_SANs_and_EKUs()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string dir = ca.Directory.Path;
        string verify = await OpenSsl.RunAsync(dir, "verify", "-CAfile", "trust-anchor.pem", "-untrusted", "ca/issuing.pem", "server.pem");
        Assert.Contains("server.pem: OK", verify);
        string device = await OpenSsl.RunAsync(dir, "verify", "-CAfile", "demo/manufacturer-ca.pem", "demo/device.pem");
        Assert.Contains("device.pem: OK", device);
        // The issuing CA must not verify the device, nor the manufacturer CA the server: the trust domains are separate.
        await Assert.ThrowsAnyAsync<Exception>(() => OpenSsl.RunAsync(dir, "verify", "-CAfile", "demo/manufacturer-ca.pem", "server.pem"));

        string server = await OpenSsl.RunAsync(dir, "x509", "-in", "server.pem", "-noout", "-text");
        Assert.Contains("DNS:localhost", server);
        Assert.Contains("IP Address:127.0.0.1", server);
        Assert.Contains("IP Address:0:0:0:0:0:0:0:1", server);
        Assert.Contains("TLS Web Server Authentication", server);
        Assert.Contains("X509v3 Authority Key Identifier", server);
        Assert.Contains("X509v3 Subject Key Identifier", server);

        string deviceText = await OpenSsl.RunAsync(dir, "x509", "-in", "demo/device.pem", "-noout", "-text", "-nameopt", "RFC2253");
        Assert.Contains("CN=demo-device-1", deviceText);
        Assert.Contains("serialNumber=DEMO-0001", deviceText);
        Assert.Contains("TLS Web Client Authentication", deviceText);

        string issuing = await OpenSsl.RunAsync(dir, "x509", "-in", "ca/issuing.pem", "-noout", "-text");
        Assert.Contains("CA:TRUE, pathlen:0", issuing);
        Assert.Contains("Certificate Sign, CRL Sign", issuing);

        // server.pem is the server certificate followed by the issuing CA, without the root.
        IReadOnlyList<X509Certificate2> serverPem = await CaCredentialFiles.LoadCertificatesAsync(ca.Hierarchy.Layout.ServerCertificate, CancellationToken.None);
        Assert.Equal(2, serverPem.Count);
        Assert.Equal(ca.Hierarchy.IssuingCa.Thumbprint, serverPem[1].Thumbprint);
    }

    [Fact]
    public async Task Bootstrap_with_a_passphrase_encrypts_the_CA_keys_and_a_wrong_passphrase_is_named()
    {
        string variable = "COAPENROLL_TEST_PASS_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, "correct horse");
        try
        {
            await using TestCa ca = await TestCa.CreateAsync(o => o.KeyPassphraseEnvironmentVariable = variable);
            Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", await File.ReadAllTextAsync(ca.Hierarchy.Layout.IssuingKey));
            Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", await File.ReadAllTextAsync(ca.Hierarchy.Layout.RootKey));
            // openssl agrees on the format.
            await OpenSsl.RunAsync(ca.Directory.Path, "pkey", "-in", "ca/issuing.key", "-passin", "env:" + variable, "-noout");

            string thumbprint = ca.Hierarchy.IssuingCa.Thumbprint;
            await ca.RestartAsync();
            Assert.Equal(thumbprint, ca.Hierarchy.IssuingCa.Thumbprint);

            Environment.SetEnvironmentVariable(variable, "wrong");
            var wrong = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(ca.Options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.WrongPassphrase, wrong.Problem);
            Assert.Equal(ca.Hierarchy.Layout.IssuingKey, wrong.FilePath);
            Assert.Contains("issuing.key", wrong.Message);
            Assert.DoesNotContain('\n', wrong.Message);

            Environment.SetEnvironmentVariable(variable, null);
            var missing = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(ca.Options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.PassphraseMissing, missing.Problem);
            Assert.Contains(variable, missing.Message);

            var unnamed = new CaOptions { DataDirectory = ca.Directory.Path };
            var noPassphrase = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(unnamed, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.PassphraseMissing, noPassphrase.Problem);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Operator_CA_from_openssl_with_encrypted_PKCS8_key_is_used_for_issuance()
    {
        using var dir = new TempDirectory("coapenroll-hosting-");
        string variable = "COAPENROLL_TEST_PASS_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, "s3cret-pass");
        try
        {
            string p = dir.Path;
            await OpenSsl.RunAsync(p, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "root.key", "-out", "root.pem",
                "-subj", "/CN=Operator Root", "-days", "30", "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            await OpenSsl.RunAsync(p, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "issuing-plain.key", "-out", "issuing.csr",
                "-subj", "/CN=Operator Issuing");
            await File.WriteAllTextAsync(dir.File("ext.cnf"), "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n");
            await OpenSsl.RunAsync(p, "x509", "-req", "-in", "issuing.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "issuing.pem", "-days", "20", "-extfile", "ext.cnf");
            await OpenSsl.RunAsync(p, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "issuing-plain.key", "-out", "issuing.key", "-passout", "env:" + variable);
            Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", await File.ReadAllTextAsync(dir.File("issuing.key")));

            var options = new CaOptions
            {
                DataDirectory = dir.File("data"),
                CertificateFile = dir.File("issuing.pem"),
                KeyFile = dir.File("issuing.key"),
                TrustAnchorFile = dir.File("root.pem"),
                KeyPassphraseEnvironmentVariable = variable,
                CreateDemoIdentities = false,
            };
            CaHierarchy hierarchy = (await CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None)).Hierarchy;
            Assert.Equal("CN=Operator Issuing", hierarchy.IssuingCa.Subject);
            Assert.False(File.Exists(hierarchy.Layout.RootKey));
            Assert.Empty(hierarchy.TrustedManufacturerCas);

            await using SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(hierarchy.Layout.Database, null, CancellationToken.None);
            var authority = new CertificateAuthority(hierarchy, store, CertificateProfileCatalog.FromOptions(options), new ReservedNames(hierarchy, []));
            IssuanceResult result = await authority.IssueAsync(TestCa.Request(TestCa.Csr()), CancellationToken.None);
            Assert.Equal(IssuanceStatus.Issued, result.Status);
            await File.WriteAllTextAsync(dir.File("issued.pem"), result.Certificate!.ExportCertificatePem());
            await OpenSsl.RunAsync(p, "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "issued.pem");
            await OpenSsl.RunAsync(p, "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "data/server.pem");

            Environment.SetEnvironmentVariable(variable, "not-the-passphrase");
            var wrong = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.WrongPassphrase, wrong.Problem);
            Assert.Equal(dir.File("issuing.key"), wrong.FilePath);

            Environment.SetEnvironmentVariable(variable, "s3cret-pass");
            options.KeyFile = dir.File("root.key");
            var mismatch = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.KeyMismatch, mismatch.Problem);
            Assert.Contains("root.key", mismatch.Message);

            options.KeyFile = dir.File("issuing.key");
            options.CertificateFile = dir.File("root.pem");
            options.TrustAnchorFile = null;
            var rootWithIssuingKey = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.KeyMismatch, rootWithIssuingKey.Problem);

            options.CertificateFile = dir.File("issuing.pem");
            options.TrustAnchorFile = dir.File("issuing.pem");
            var selfAnchored = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.ChainInvalid, selfAnchored.Problem);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task A_non_CA_certificate_is_refused_as_issuing_CA()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        var options = new CaOptions
        {
            DataDirectory = ca.Directory.File("other"),
            CertificateFile = ca.Hierarchy.Layout.ServerCertificate,
            KeyFile = ca.Hierarchy.Layout.ServerKey,
            TrustAnchorFile = ca.Hierarchy.Layout.TrustAnchor,
        };
        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.NotACaCertificate, ex.Problem);
        Assert.Equal(ca.Hierarchy.Layout.ServerCertificate, ex.FilePath);
    }

    [Fact]
    public async Task Missing_garbage_and_unreadable_files_get_specific_errors()
    {
        using var dir = new TempDirectory("coapenroll-hosting-");
        var missing = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadCertificatesAsync(dir.File("nope.pem"), CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.FileMissing, missing.Problem);
        Assert.StartsWith(dir.File("nope.pem") + ": ", missing.Message);

        await File.WriteAllTextAsync(dir.File("garbage.pem"), "hello");
        var garbage = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadCertificatesAsync(dir.File("garbage.pem"), CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.InvalidPem, garbage.Problem);
        var garbageKey = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadPrivateKeyAsync(dir.File("garbage.pem"), null, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.InvalidPem, garbageKey.Problem);

        await File.WriteAllTextAsync(dir.File("bad.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var bad = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadCertificatesAsync(dir.File("bad.pem"), CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.InvalidPem, bad.Problem);

        await File.WriteAllBytesAsync(dir.File("huge.pem"), new byte[CaCredentialFiles.MaxFileBytes + 1]);
        var huge = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadCertificatesAsync(dir.File("huge.pem"), CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.FileUnreadable, huge.Problem);

        if (!OperatingSystem.IsWindows() && Environment.UserName != "root")
        {
            await File.WriteAllTextAsync(dir.File("locked.pem"), "x");
            File.SetUnixFileMode(dir.File("locked.pem"), UnixFileMode.None);
            var locked = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadCertificatesAsync(dir.File("locked.pem"), CancellationToken.None));
            Assert.Equal(CaConfigurationProblem.FileUnreadable, locked.Problem);
        }

        // A directory where a file is expected is unreadable, for root too.
        Directory.CreateDirectory(dir.File("adir.pem"));
        var directory = await Assert.ThrowsAsync<CaConfigurationException>(() => CaCredentialFiles.LoadPrivateKeyAsync(dir.File("adir.pem"), null, CancellationToken.None));
        Assert.Contains(directory.Problem, new[] { CaConfigurationProblem.FileUnreadable, CaConfigurationProblem.FileMissing });
    }

    [Fact]
    public async Task A_certificate_without_its_key_is_an_incomplete_data_directory_and_a_lost_server_certificate_is_reissued()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        CaDataLayout layout = ca.Hierarchy.Layout;

        File.Delete(layout.ServerCertificate);
        string issuing = ca.Hierarchy.IssuingCa.Thumbprint;
        await ca.RestartAsync();
        Assert.True(File.Exists(layout.ServerCertificate));
        Assert.Equal(issuing, ca.Hierarchy.IssuingCa.Thumbprint);

        File.Delete(layout.IssuingKey);
        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(ca.Options, null, null, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.IncompleteDataDirectory, ex.Problem);
        Assert.Equal(layout.IssuingKey, ex.FilePath);

        // Never the advice to remove the CA's certificate (a new CA no device trusts); its key may be on a token set up elsewhere.
        Assert.Contains("give the same Ca:KeyProvider and Ca:Pkcs11 settings", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("remove both to create new ones", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_certificate_carries_cmKGA_and_one_made_without_it_is_reissued()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        CaDataLayout layout = ca.Hierarchy.Layout;
        Assert.Contains(PkixOids.CmpKeyGenerationAuthority, await ServerUsagesAsync(layout));
        Assert.Contains("1.3.6.1.5.5.7.3.1", await ServerUsagesAsync(layout));

        // A server certificate as earlier versions wrote it: serverAuth only, same key, same issuer, valid for a year.
        using X509Certificate2 issuing = X509CertificateLoader.LoadCertificate(ca.Hierarchy.IssuingCa.RawData);
        using var issuingKey = ECDsa.Create();
        issuingKey.ImportFromPem(await File.ReadAllTextAsync(layout.IssuingKey));
        using var serverKey = ECDsa.Create();
        serverKey.ImportFromPem(await File.ReadAllTextAsync(layout.ServerKey));
        var request = new CertificateRequest("CN=localhost, O=CoapEnroll", serverKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 old = request.Create(issuing.SubjectName, X509SignatureGenerator.CreateForECDsa(issuingKey), now.AddMinutes(-5), now.AddDays(365), [7, 7, 7, 7]);
        await File.WriteAllTextAsync(layout.ServerCertificate, old.ExportCertificatePem() + "\n" + issuing.ExportCertificatePem() + "\n");

        await ca.RestartAsync();
        IReadOnlyList<X509Certificate2> reissued = await CaCredentialFiles.LoadCertificatesAsync(layout.ServerCertificate, CancellationToken.None);
        Assert.NotEqual(old.Thumbprint, reissued[0].Thumbprint);
        Assert.Contains(PkixOids.CmpKeyGenerationAuthority, await ServerUsagesAsync(layout));
    }

    private static async Task<string[]> ServerUsagesAsync(CaDataLayout layout)
    {
        IReadOnlyList<X509Certificate2> server = await CaCredentialFiles.LoadCertificatesAsync(layout.ServerCertificate, CancellationToken.None);
        return [.. server[0].Extensions.OfType<X509EnhancedKeyUsageExtension>().SelectMany(e => e.EnhancedKeyUsages.Cast<Oid>()).Select(o => o.Value!)];
    }

    [Fact]
    public async Task A_replaced_trust_anchor_breaks_the_chain_loudly()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        CaDataLayout layout = ca.Hierarchy.Layout;
        File.Delete(layout.TrustAnchor);
        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(ca.Options, null, null, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.ChainInvalid, ex.Problem);
        Assert.Equal(layout.IssuingCertificate, ex.FilePath);
    }

    [Fact]
    public async Task Trusted_manufacturer_CA_files_are_added_and_must_be_CAs()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        await using TestCa other = await TestCa.CreateAsync(o =>
        {
            o.CreateDemoIdentities = false;
        });
        var options = new CaOptions
        {
            DataDirectory = other.Directory.Path,
            CreateDemoIdentities = false,
            TrustedManufacturerCaFiles = [ca.Hierarchy.Layout.ManufacturerCaCertificate, ca.Hierarchy.Layout.TrustAnchor],
        };
        CaHierarchy hierarchy = (await CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None)).Hierarchy;
        Assert.Equal(2, hierarchy.TrustedManufacturerCas.Count);

        options.TrustedManufacturerCaFiles = [ca.Hierarchy.Layout.DemoDeviceCertificate];
        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.NotACaCertificate, ex.Problem);
    }
}
