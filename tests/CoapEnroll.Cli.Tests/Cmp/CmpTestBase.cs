namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// What the CMP test classes share: an openssl working directory of the test's own (<see cref="OpenSslCmp"/>) and an environment
/// variable name of its own for <c>--secret-env</c>, both per test (xUnit makes one instance per test) and cleared on dispose.
/// </summary>
public abstract class CmpTestBase : IDisposable
{
    protected OpenSslCmp OpenSsl { get; } = new();

    /// <summary>Unset until a test sets it; unique, so tests running in parallel never see each other's secret.</summary>
    protected string SecretVariable { get; } = "COAPENROLL_TEST_CMP_SECRET_" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(SecretVariable, null);
        OpenSsl.Dispose();
        GC.SuppressFinalize(this);
    }
}
