namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The tests that keep a CA key on a SoftHSM2 token open in this process, one class after the other: SoftHSM2 reads its token
/// directory when the module is initialized (C_Initialize, once per process while any key holds it), so a token that
/// <c>softhsm2-util --init-token</c> creates while another class's key holds the module is not found by <c>ca init</c>.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SoftHsmCollection
{
    public const string Name = "SoftHSM2 token";
}
