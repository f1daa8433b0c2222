using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// The proof of possession that came with a <see cref="CertificationRequest"/>. Each request format supplies its own (PKCS#10's
/// signature here; CRMF's POPOSigningKey with CMP). <see cref="Check"/> does the work once per instance and remembers the
/// answer, so a front end that checks it early and the CA that checks it before issuing spend one verification between them.
/// </summary>
public abstract class ProofOfPossession
{
    private ProofOfPossessionResult? _result;
    private ImportedEcKey? _importedEcKey;

    /// <summary>What kind of proof this is.</summary>
    public abstract ProofOfPossessionMethod Method { get; }

    /// <summary>
    /// The hash the proof's signature is computed with, when the proof is a signature of an algorithm this CA knows; null otherwise.
    /// Profiles refuse SHA-1 unless they allow it (<see cref="CertificateProfile.AllowSha1Signatures"/>).
    /// </summary>
    public virtual HashAlgorithmName? SignatureHashAlgorithm => null;

    /// <summary>Whether the proof holds for the request's public key, and why not; computed on the first call.</summary>
    public ProofOfPossessionResult Check()
    {
        ProofOfPossessionResult? result = Volatile.Read(ref _result);
        if (result is null)
        {
            // Two threads may both check the first time; both get the same answer.
            result = CheckCore();
            Volatile.Write(ref _result, result);
        }

        return result;
    }

    /// <summary>True when the proof holds for the request's public key (<see cref="Check"/>).</summary>
    public bool Verify() => Check().IsVerified;

    /// <summary>Checks the proof. Called at most once per instance, barring races; never throws for any input.</summary>
    protected abstract ProofOfPossessionResult CheckCore();

    /// <summary>
    /// The EC key <paramref name="key"/> (the same object) as this proof's check imported it, when the check has run and the platform
    /// accepted the key; null otherwise, and then whoever needs to know imports it itself.
    /// </summary>
    internal ImportedEcKey? ImportedEcKeyFor(PublicKey key) =>
        Volatile.Read(ref _importedEcKey) is { } imported && ReferenceEquals(imported.Key, key) ? imported : null;

    /// <summary>For <see cref="CheckCore"/>: the requested EC key as it imported it, if it did.</summary>
    private protected void RememberImported(ImportedEcKey? imported) => Volatile.Write(ref _importedEcKey, imported);
}
