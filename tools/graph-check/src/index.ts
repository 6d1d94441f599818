export { checkGraph, formatViolation, importsOf, readWorkspace, workspacePackageOf, WORKSPACE_RULES } from './graph';
export type { Project, Rules, Violation } from './graph';
export { ALLOWED, EXCEPTIONS, ROOT_FILES } from './rules';
export type { AllowedException } from './rules';
