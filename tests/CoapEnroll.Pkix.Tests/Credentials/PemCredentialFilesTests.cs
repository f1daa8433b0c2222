using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>PEM certificates and PKCS#8 keys: what is read, what is written, and one specific error per failure.</summary>
public sealed class PemCredentialFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-pem-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Missing_garbage_and_unreadable_files_get_specific_errors()
    {
        var missing = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadCertificatesAsync(File("nope.pem"), CancellationToken.None));
        Assert.Equal(CredentialFileProblem.FileMissing, missing.Problem);
        Assert.Equal(File("nope.pem"), missing.FilePath);
        Assert.StartsWith(File("nope.pem") + ": ", missing.Message);

        await System.IO.File.WriteAllTextAsync(File("garbage.pem"), "hello");
        var garbage = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadCertificatesAsync(File("garbage.pem"), CancellationToken.None));
        Assert.Equal(CredentialFileProblem.InvalidPem, garbage.Problem);
        var garbageKey = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadPrivateKeyAsync(File("garbage.pem"), null, CancellationToken.None));
        Assert.Equal(CredentialFileProblem.InvalidPem, garbageKey.Problem);

        await System.IO.File.WriteAllBytesAsync(File("huge.pem"), new byte[PemCredentialFiles.MaxFileBytes + 1]);
        var huge = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadCertificatesAsync(File("huge.pem"), CancellationToken.None));
        Assert.Equal(CredentialFileProblem.FileUnreadable, huge.Problem);
    }

    [Fact]
    public async Task An_encrypted_key_needs_its_passphrase_and_a_key_must_fit_its_certificate()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 certificate = new CertificateRequest("CN=pem", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        await PemCredentialFiles.WriteCertificatesAsync(File("c.pem"), [certificate], CancellationToken.None);
        await PemCredentialFiles.WritePrivateKeyAsync(File("c.key"), key, "secret", CancellationToken.None);
        await PemCredentialFiles.WritePrivateKeyAsync(File("other.key"), other, null, CancellationToken.None);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(File("c.key")));
        }

        var noPassphrase = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadPrivateKeyAsync(File("c.key"), null, CancellationToken.None));
        Assert.Equal(CredentialFileProblem.PassphraseMissing, noPassphrase.Problem);
        var wrong = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadPrivateKeyAsync(File("c.key"), "wrong", CancellationToken.None));
        Assert.Equal(CredentialFileProblem.WrongPassphrase, wrong.Problem);

        var (loaded, chain) = await PemCredentialFiles.LoadCertificateWithKeyAsync(File("c.pem"), File("c.key"), "secret", CancellationToken.None);
        Assert.True(loaded.HasPrivateKey);
        Assert.Empty(chain);

        var mismatch = await Assert.ThrowsAsync<CredentialFileException>(() => PemCredentialFiles.LoadCertificateWithKeyAsync(File("c.pem"), File("other.key"), null, CancellationToken.None));
        Assert.Equal(CredentialFileProblem.KeyMismatch, mismatch.Problem);
        Assert.Equal(File("other.key"), mismatch.FilePath);
    }

    private string File(string name) => Path.Combine(_directory, name);
}
