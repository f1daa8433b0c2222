namespace CoapEnroll.Ca;

/// <summary>
/// The proof of possession that came with a <see cref="CertificationRequest"/>. Each request format supplies its own (PKCS#10's
/// signature here; CRMF's POPOSigningKey with CMP). <see cref="Verify"/> does the work once per instance and remembers the
/// answer, so a front end that checks it early and the CA that checks it before issuing spend one verification between them.
/// </summary>
public abstract class ProofOfPossession
{
    private int _state; // 0 unknown, 1 verified, 2 failed

    /// <summary>What kind of proof this is.</summary>
    public abstract ProofOfPossessionMethod Method { get; }

    /// <summary>True when the proof holds for the request's public key; computed on the first call.</summary>
    public bool Verify()
    {
        int state = Volatile.Read(ref _state);
        if (state == 0)
        {
            // Two threads may both verify the first time; both get the same answer.
            state = VerifyCore() ? 1 : 2;
            Volatile.Write(ref _state, state);
        }

        return state == 1;
    }

    /// <summary>Checks the proof; false when it does not hold. Called at most once per instance, barring races.</summary>
    protected abstract bool VerifyCore();
}
