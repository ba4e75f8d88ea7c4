import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys AMP's contracts: ValidatorRegistry, GlobalProofAnchor (reading that registry) and
 * ProofCreditReceipts. Parameters `governance` and `allocator` default to the deploying account 0.
 * Federations are registered afterwards by the caller (`registerFederation`).
 */
const AmpModule = buildModule("Amp", (m) => {
  const deployer = m.getAccount(0);
  const governance = m.getParameter("governance", deployer);
  const allocator = m.getParameter("allocator", deployer);

  const registry = m.contract("ValidatorRegistry", [governance]);
  const anchor = m.contract("GlobalProofAnchor", [registry]);
  const receipts = m.contract("ProofCreditReceipts", [allocator]);

  return { registry, anchor, receipts };
});

export default AmpModule;
