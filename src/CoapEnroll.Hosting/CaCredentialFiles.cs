using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Pkix;

namespace CoapEnroll.Hosting;

/// <summary>
/// The CA's certificate and key files through <see cref="PemCredentialFiles"/>, each failure a <see cref="CaConfigurationException"/>
/// with the same file, problem and text, so that the CA's configuration errors are one type whatever their cause.
/// </summary>
internal static class CaCredentialFiles
{
    /// <inheritdoc cref="PemCredentialFiles.MaxFileBytes"/>
    public const int MaxFileBytes = PemCredentialFiles.MaxFileBytes;

    public static async Task<IReadOnlyList<X509Certificate2>> LoadCertificatesAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await PemCredentialFiles.LoadCertificatesAsync(path, cancellationToken);
        }
        catch (CredentialFileException ex)
        {
            throw Translate(ex);
        }
    }

    public static async Task<AsymmetricAlgorithm> LoadPrivateKeyAsync(string path, string? passphrase, CancellationToken cancellationToken)
    {
        try
        {
            return await PemCredentialFiles.LoadPrivateKeyAsync(path, passphrase, cancellationToken);
        }
        catch (CredentialFileException ex)
        {
            throw Translate(ex);
        }
    }

    public static async Task<(X509Certificate2 Certificate, IReadOnlyList<X509Certificate2> Chain)> LoadCertificateWithKeyAsync(
        string certificatePath, string keyPath, string? passphrase, CancellationToken cancellationToken)
    {
        try
        {
            return await PemCredentialFiles.LoadCertificateWithKeyAsync(certificatePath, keyPath, passphrase, cancellationToken);
        }
        catch (CredentialFileException ex)
        {
            throw Translate(ex);
        }
    }

    public static X509Certificate2 AttachKey(X509Certificate2 certificate, AsymmetricAlgorithm key, string certificatePath, string keyPath)
    {
        try
        {
            return PemCredentialFiles.AttachKey(certificate, key, certificatePath, keyPath);
        }
        catch (CredentialFileException ex)
        {
            throw Translate(ex);
        }
    }

    public static Task WritePrivateKeyAsync(string path, AsymmetricAlgorithm key, string? passphrase, CancellationToken cancellationToken) =>
        PemCredentialFiles.WritePrivateKeyAsync(path, key, passphrase, cancellationToken);

    public static Task WriteCertificatesAsync(string path, IEnumerable<X509Certificate2> certificates, CancellationToken cancellationToken) =>
        PemCredentialFiles.WriteCertificatesAsync(path, certificates, cancellationToken);

    // The inner exception is the loader's cause, as when the CA read the files itself.
    private static CaConfigurationException Translate(CredentialFileException ex) => ex.Problem switch
    {
        CredentialFileProblem.FileMissing => new(ex.FilePath, CaConfigurationProblem.FileMissing, ex.Detail, ex.InnerException),
        CredentialFileProblem.FileUnreadable => new(ex.FilePath, CaConfigurationProblem.FileUnreadable, ex.Detail, ex.InnerException),
        CredentialFileProblem.PassphraseMissing => new(ex.FilePath, CaConfigurationProblem.PassphraseMissing,
            ex.Detail + " (set Ca:KeyPassphraseEnvironmentVariable and that variable)", ex.InnerException),
        CredentialFileProblem.WrongPassphrase => new(ex.FilePath, CaConfigurationProblem.WrongPassphrase, ex.Detail, ex.InnerException),
        CredentialFileProblem.KeyMismatch => new(ex.FilePath, CaConfigurationProblem.KeyMismatch, ex.Detail, ex.InnerException),
        _ => new(ex.FilePath, CaConfigurationProblem.InvalidPem, ex.Detail, ex.InnerException),
    };
}
