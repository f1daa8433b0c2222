namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// The libcoap EST interop suite once more, against a server whose issuing CA key is on a SoftHSM2 token (Ca:KeyProvider=Pkcs11):
/// every certificate it issues is signed on the token.
/// </summary>
[Collection(SoftHsmCollection.Name)]
public sealed class LibCoapEstInteropPkcs11Tests(EstServerPkcs11Fixture fixture) : LibCoapEstInteropSuite<EstServerPkcs11Fixture>(fixture);
