import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys AMP's contracts: ValidatorRegistry, GlobalProofAnchor (reading that registry) and
 * ProofCreditReceipts. Parameters `governance` and `allocator` default to the deploying account 0;
 * `recoveryDelay` (seconds, fixed for the registry's life) defaults to 7 days.
 * Federations are registered afterwards by the caller (`registerFederation`).
 */
const AmpModule = buildModule("Amp", (m) => {
  const deployer = m.getAccount(0);
  const governance = m.getParameter("governance", deployer);
  const allocator = m.getParameter("allocator", deployer);

  // Seconds before a recovery rotation scheduled by governance can execute (default 7 days).
  const recoveryDelay = m.getParameter("recoveryDelay", 7n * 24n * 60n * 60n);

  const registry = m.contract("ValidatorRegistry", [governance, recoveryDelay]);
  const anchor = m.contract("GlobalProofAnchor", [registry]);
  const receipts = m.contract("ProofCreditReceipts", [allocator]);

  return { registry, anchor, receipts };
});

export default AmpModule;
