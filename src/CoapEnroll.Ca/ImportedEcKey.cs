using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// An id-ecPublicKey that <see cref="EcPublicKeys.TryImport"/> read and the platform imported, which checks that the point lies on
/// the curve: what a proof of possession's check learnt about the requested key, so that the CA's key check does not import the
/// same key object a second time (an import with its point check costs about as much as an ECDSA verification).
/// </summary>
/// <param name="Key">The key object that was imported; the answer holds for this object only.</param>
/// <param name="Type">Its curve.</param>
/// <param name="Compressed">True when the point was sent compressed.</param>
internal sealed record ImportedEcKey(PublicKey Key, KeyTypes Type, bool Compressed);
